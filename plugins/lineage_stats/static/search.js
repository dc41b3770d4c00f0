// Account search: the value is validated here as a G… address (SEP-23 StrKey: base32, version byte,
// CRC16-XModem) before it goes anywhere. A secret seed in any shape (the server's SEED_SHAPE regex, or a
// checksum-valid seed hidden by quotes, invisible characters, spaces or URL-encoding) is refused with
// the server's own message and wiped from the field; nothing is sent. The input has no name, so even
// without this script the browser never puts the value in a URL.
(function () {
  "use strict";
  var form = document.querySelector("form.search");
  if (!form) return;
  var input = form.querySelector("input.account");
  var box = form.querySelector(".search-error");
  var seedShape = new RegExp(form.dataset.seedPattern);
  var invisible = new RegExp("[" + form.dataset.invisible + "]", "g");
  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  var VERSION_ACCOUNT = 6 << 3, VERSION_SEED = 18 << 3;
  var WRAPPERS = /^[\s"'`,;\[\](){}<>\u2018\u2019\u201c\u201d\u00ab\u00bb]+|[\s"'`,;\[\](){}<>\u2018\u2019\u201c\u201d\u00ab\u00bb]+$/g;

  function crc16(bytes) {
    var crc = 0;
    for (var i = 0; i < bytes.length; i++) {
      crc ^= bytes[i] << 8;
      for (var b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    return crc;
  }
  function decode(text) {  // 56 base32 characters -> 35 bytes, or null
    if (!/^[A-Z2-7]{56}$/.test(text)) return null;
    var bytes = [], bits = 0, value = 0;
    for (var i = 0; i < text.length; i++) {
      value = (value << 5) | ALPHABET.indexOf(text[i]);
      bits += 5;
      if (bits >= 8) { bytes.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
    }
    return bytes;
  }
  function validStrKey(text, version) {
    var bytes = decode(text);
    if (!bytes || bytes[0] !== version) return false;
    var body = bytes.slice(0, 33);
    return crc16(body) === (bytes[33] | (bytes[34] << 8));
  }
  function hasSeed(raw) {
    if (seedShape.test(raw)) return true;
    var text = raw;
    for (var round = 0; round < 2; round++) {
      try { text = decodeURIComponent(text); } catch (e) { break; }
    }
    var squeezed = text.normalize("NFKC").replace(/[^A-Za-z0-9]/g, "");
    var windows = /(?=([Ss][A-Da-d][A-Za-z2-7]{54}))/g, m;
    while ((m = windows.exec(squeezed)) !== null) {
      if (validStrKey(m[1].toUpperCase(), VERSION_SEED)) return true;
      windows.lastIndex++;
    }
    return false;
  }
  function problem(value) {  // the reasons of validation.validate_account
    if (!value) return "Enter a G… account address.";
    if (!/^[Gg]/.test(value)) return "account addresses start with G";
    if (value !== value.toUpperCase() && /^[A-Z2-7]+$/.test(value.toUpperCase())) {
      return "lowercase address: Stellar addresses are upper case";
    }
    if (!/^[A-Z2-7]+$/.test(value)) return "contains characters outside the base32 alphabet A-Z, 2-7";
    if (value.length !== 56) return "wrong length: " + value.length + " characters, expected 56";
    if (!validStrKey(value, VERSION_ACCOUNT)) return "bad checksum or encoding (not a valid StrKey)";
    return "";
  }
  function show(message) { box.textContent = message; box.hidden = !message; }

  input.addEventListener("input", function () { show(""); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var raw = input.value;
    if (hasSeed(raw)) {
      input.value = "";
      show(form.dataset.seedMessage);
      return;
    }
    var value = raw.replace(invisible, "").replace(WRAPPERS, "");
    var reason = problem(value);
    if (reason) { show(reason); return; }
    var network = form.querySelector("input[name=network]").value;
    window.location.assign(form.dataset.root + "lineage/" + value + "?network=" + encodeURIComponent(network));
  });
})();
