// Follow the Airflow UI's colour mode. The UI (next-themes) puts "dark"/"light" on <html> of the
// parent page and keeps the choice in localStorage "theme"; we are a same-origin iframe, so read
// the parent first, then the stored choice, then the OS preference.
(function () {
  function wanted() {
    try {
      var cls = window.parent && window.parent !== window && window.parent.document.documentElement.classList;
      if (cls && cls.contains("dark")) return "dark";
      if (cls && cls.contains("light")) return "light";
    } catch (e) { /* not same-origin: fall through */ }
    try {
      var stored = window.localStorage.getItem("theme");
      if (stored === "dark" || stored === "light") return stored;
    } catch (e) { /* storage disabled */ }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function apply() { document.documentElement.dataset.theme = wanted(); }
  apply();
  window.addEventListener("storage", apply);
  try {
    if (window.parent !== window) {
      new MutationObserver(apply).observe(window.parent.document.documentElement, { attributes: true, attributeFilter: ["class"] });
    }
  } catch (e) { /* not same-origin */ }
})();
