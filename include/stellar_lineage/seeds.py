"""The one secret-seed detector: find, redact and refuse Stellar secret seeds in any shape.

A secret seed is an ed25519 seed StrKey: ``S`` + 55 base32 characters with version byte 144 and a
CRC16 checksum (reference/stellar_apis.md §4; the check is stellar-sdk's ``StrKey``). People paste
them by mistake in every shape: lower or mixed case, in quotes, with a trailing comma, inside a
sentence or a JSON/CSV line, with a zero-width space, URL-encoded. So a candidate is searched

1. in the text as it is (any case, overlapping windows, so ``seedSAAA…`` is found), and
2. in a *skeleton* of the text: percent-decoded (twice, for double encoding), NFKC-folded (full-width
   letters), and keeping only ASCII letters and digits, so quotes, commas, whitespace, zero-width and
   other invisible characters between the characters of a seed do not hide it.

Each skeleton character remembers its span in the original text, so redaction replaces exactly the
original characters that spelled the seed (plus anything interleaved). Only checksum-valid seeds
count: a random base32 window passes with probability 2⁻¹⁹, so text full of G… addresses is left
alone. ``SEED_SHAPE`` (no checksum) is for places that must refuse before any code runs: the Param
schema of the enqueue DAG and the dashboard's search box.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

SEED_LENGTH = 56
REDACTED = "[secret seed redacted]"
# Refusal before any checksum can be computed (JSON schema / browser): S + 55 base32 characters in
# any case, unanchored, each one literal or percent-encoded (once or twice), optionally with invisible
# characters or line breaks between them. Spaces and commas are not allowed inside, so a line of comma- or
# space-separated G… addresses never matches, and an S inside a longer base32 run (a muxed M…
# address) is not a start. Regex syntax valid in Python, JSON schema (ECMA 262) and browsers.
INVISIBLE = (
    "\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b-\\u200f"
    "\\u202a-\\u202e\\u2060-\\u206f\\ufe00-\\ufe0f\\ufeff"
)
_ESC = "%(?:25)?"
_SHAPE_S = f"(?:[Ss\\uff33\\uff53]|{_ESC}[57]3)"  # also full-width
_SHAPE_CHAR = (
    f"(?:[A-Za-z2-7\\uff21-\\uff3a\\uff41-\\uff5a\\uff12-\\uff17]|{_ESC}(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[2-7]))"
)
_ENCODED_INVISIBLE = f"[Cc]2{_ESC}[Aa][Dd]|[Ee]2{_ESC}80{_ESC}8[B-Fb-f]|[Ee][Ff]{_ESC}[Bb][Bb]{_ESC}[Bb][Ff]"
_SHAPE_FILL = f"(?:[\\r\\n{INVISIBLE}]|{_ESC}(?:{_ENCODED_INVISIBLE}))*"
# Shown in groups (single spaces or dashes between characters): exactly 56 letters ending at a token
# boundary, so a line of space-separated addresses ("Sent GAAA…") never adds up.
_GROUPED = "[Ss](?:[ -]?[A-Za-z2-7]){55}(?![A-Za-z2-7])"
SEED_SHAPE = f"(?<![A-Za-z2-7])(?:{_SHAPE_S}(?:{_SHAPE_FILL}{_SHAPE_CHAR}){{55}}|{_GROUPED})"
_SEED_SHAPE = re.compile(SEED_SHAPE)
# Version byte 144 = 0b10010_000: the second character of every seed is A-D, a cheap pre-filter.
_CANDIDATE = re.compile(r"(?=([Ss][A-Da-d][A-Za-z2-7]{54}))")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_NOT_ASCII_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_ALNUM_ISH = re.compile(r"[^\W_]")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
# Something that could become a seed's first letter: s/S itself, a percent escape, or a
# compatibility form (full-width S, long s). Text without one cannot hold a seed.
_MAY_START = re.compile(r"[sS%\uff33\uff53\u017f]")

Span = tuple[int, int]


def _is_seed(window: str) -> bool:
    # Imported here: the enqueue DAG file imports SEED_SHAPE at parse time, and stellar_sdk is slow to import.
    from stellar_sdk import StrKey

    return StrKey.is_valid_ed25519_secret_seed(window.upper())


def _percent_decode(chars: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """One round of %XX decoding over (char, start, end) triples; multi-byte UTF-8 runs decode to
    characters that span the whole run. Invalid UTF-8 becomes U+FFFD (dropped by the skeleton)."""
    text = "".join(c for c, _, _ in chars)
    if "%" not in text:
        return chars
    out: list[tuple[str, int, int]] = []
    i = 0
    while i < len(chars):
        if _PERCENT.match(text, i):
            raw, start = bytearray(), chars[i][1]
            while _PERCENT.match(text, i):
                raw.append(int(text[i + 1 : i + 3], 16))
                end = chars[i + 2][2]
                i += 3
            out.extend((c, start, end) for c in raw.decode("utf-8", errors="replace"))
        else:
            out.append(chars[i])
            i += 1
    return out


def _skeleton(text: str) -> tuple[str, list[Span] | None]:
    """(letters and digits of the decoded text, their spans in ``text``); spans is None in the
    plain-ASCII case, where ``_ascii_spans`` computes them only if a seed is found."""
    if text.isascii() and "%" not in text:  # the common case, at C speed
        return _NOT_ASCII_ALNUM.sub("", text), None
    chars = [(c, i, i + 1) for i, c in enumerate(text)]
    for _ in range(2):
        chars = _percent_decode(chars)
    letters: list[str] = []
    spans: list[Span] = []
    for c, start, end in chars:
        folded = unicodedata.normalize("NFKC", c) if not c.isascii() else c
        for f in folded:
            if f.isascii() and f.isalnum():
                letters.append(f)
                spans.append((start, end))
    return "".join(letters), spans


def find_seeds(text: str) -> list[Span]:
    """Sorted, merged ``(start, end)`` spans of ``text`` that spell a valid secret seed."""
    if len(text) < SEED_LENGTH or not _MAY_START.search(text):
        return []
    if len(text) < 4 * SEED_LENGTH and len(_ALNUM_ISH.findall(text)) < SEED_LENGTH:
        return []  # every shape of a seed keeps at least 56 letters or digits (checked on short text only)
    found: list[Span] = []
    for m in _CANDIDATE.finditer(text):
        if _is_seed(m.group(1)):
            found.append((m.start(1), m.start(1) + SEED_LENGTH))
    skeleton, spans = _skeleton(text)
    if skeleton != text:
        for m in _CANDIDATE.finditer(skeleton):
            if _is_seed(m.group(1)):
                if spans is None:
                    spans = [(m.start(), m.end()) for m in _ASCII_ALNUM.finditer(text)]
                found.append((spans[m.start(1)][0], spans[m.start(1) + SEED_LENGTH - 1][1]))
    merged: list[Span] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def contains_seed(text: str) -> bool:
    return bool(find_seeds(text))


def seed_shaped(text: str) -> bool:
    """S + 55 base32 characters anywhere (any case, invisible characters allowed between), checksum
    or not: a seed with a typo is still most of a secret."""
    return bool(_SEED_SHAPE.search(text)) or contains_seed(text)


def seed_substrings(text: str) -> list[str]:
    """The exact original substrings that spell a seed, plus each seed's canonical upper-case form
    (what Airflow's ``mask_secret`` should be told to hide)."""
    out: list[str] = []
    for start, end in find_seeds(text):
        piece = text[start:end]
        skeleton, _ = _skeleton(piece)
        for m in _CANDIDATE.finditer(skeleton):
            if _is_seed(m.group(1)):
                out.extend({piece, m.group(1), m.group(1).upper(), m.group(1).lower()})
                break
        else:
            out.append(piece)
    return out


def redact_seeds(text: str) -> str:
    """``text`` with every seed (in any of the shapes above) replaced by ``REDACTED``."""
    spans = find_seeds(text)
    if not spans:
        return text
    parts, last = [], 0
    for start, end in spans:
        parts.append(text[last:start])
        parts.append(REDACTED)
        last = end
    parts.append(text[last:])
    return "".join(parts)


def redact_data(value: Any) -> Any:
    """Redact every string (keys too) in a JSON-like structure: XCom values, HTTP bodies, errors."""
    if isinstance(value, str):
        return redact_seeds(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_data(v) for v in value)
    return value


class SeedRedactingFilter(logging.Filter):
    """Logging filter that rewrites a record whose message or traceback holds a seed.

    Installed on handlers (not loggers): a handler filter sees every record that reaches it,
    including ones propagated from child loggers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is the logging module's problem
            return True
        if contains_seed(message):
            record.msg, record.args = redact_seeds(message), None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if contains_seed(text):
                record.exc_text, record.exc_info = redact_seeds(text), None
        return True


_FILTER = SeedRedactingFilter()


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of ``logger`` (root by default); idempotent."""
    for handler in (logger or logging.getLogger()).handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
