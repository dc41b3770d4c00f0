"""Stellar account address validation (SEP-23 StrKey) with reasons a person can act on.

The checksum and version-byte checks are stellar-sdk's ``StrKey`` (a well-kept implementation of
SEP-23: base32, version byte, CRC16-XModem, canonical re-encoding); this module only adds the
classification that turns "invalid" into a useful reason. A secret seed is never echoed back: the
reason and ``redact()`` both hide it (the detector is ``seeds.py``).

``parse_account_list`` is the enqueue input hygiene: what people paste (CSV lines, JSON arrays,
quoted values, several addresses per line) becomes one address per entry, every change reported.
``account_or_none`` is the check for account ids that arrive from Horizon, Stellar Expert or Hubble.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from stellar_sdk import StrKey

from include.stellar_lineage.seeds import INVISIBLE, redact_seeds, seed_shaped, seed_substrings

log = logging.getLogger(__name__)

ACCOUNT_LENGTH = 56
_BASE32 = re.compile(r"^[A-Z2-7]+$")


class InvalidAddress(ValueError):
    """The value is not a Stellar G… account address; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


SEED_MESSAGE = "this is a secret seed (S…), not an account address; never share it"
SEED_REASON = "contains a secret seed (S…): refused, stored nowhere; never share it"


def looks_like_secret(value: str) -> bool:
    """True for anything shaped like an S… secret seed, valid checksum or not (checked before any echo)."""
    candidate = value.strip()
    return (len(candidate) == ACCOUNT_LENGTH and candidate[:1] in ("S", "s")) or seed_shaped(value)


def redact(value: object) -> str:
    """A loggable form of user input: seeds are hidden, long or odd input is shortened."""
    text = str(value)
    if looks_like_secret(text):
        return "S…(secret seed redacted)"
    text = redact_seeds(text).replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= 64 else text[:61] + "..."


def validate_account(value: object) -> str:
    """Return the address when it is a valid G… account address, else raise InvalidAddress."""
    if not isinstance(value, str):
        raise InvalidAddress(f"expected a string, got {type(value).__name__}")
    if value == "":
        raise InvalidAddress("empty address")
    if value.strip() == "":
        raise InvalidAddress("address is only whitespace")
    if value != value.strip() or any(ch.isspace() for ch in value):
        raise InvalidAddress("address contains whitespace")
    if looks_like_secret(value):
        raise InvalidAddress(SEED_MESSAGE)
    if StrKey.is_valid_med25519_public_key(value):
        raise InvalidAddress("muxed M… address: lineage is tracked per underlying G… account; use the G… address")
    if StrKey.is_valid_contract(value):
        raise InvalidAddress("contract C… address: only G… accounts have creators")
    if not value.upper().startswith("G"):
        raise InvalidAddress("account addresses start with G")
    if value != value.upper() and _BASE32.match(value.upper()):
        raise InvalidAddress("lowercase address: Stellar addresses are upper case")
    if not _BASE32.match(value):
        raise InvalidAddress("contains characters outside the base32 alphabet A-Z, 2-7")
    if len(value) != ACCOUNT_LENGTH:
        raise InvalidAddress(f"wrong length: {len(value)} characters, expected {ACCOUNT_LENGTH}")
    if not StrKey.is_valid_ed25519_public_key(value):
        raise InvalidAddress("bad checksum or encoding (not a valid StrKey)")
    return value


def account_or_none(value: Any, what: str) -> str | None:
    """``value`` if it is a valid G… account id, else None after a warning (redacted, never echoed).

    For account ids from upstream APIs (Horizon, Stellar Expert, Hubble) before they are stored,
    queued, put into a URL or rendered as a link. ``what`` names the field for the log line.
    """
    if isinstance(value, str) and StrKey.is_valid_ed25519_public_key(value):
        return value
    reason = "not a string" if not isinstance(value, str) else _reason(value)
    log.warning("Dropped an invalid account id in %s: %s", what, reason)
    return None


def _reason(value: str) -> str:
    try:
        validate_account(value)
    except InvalidAddress as exc:
        return exc.reason
    return "not a valid G… account id"


# Characters around a pasted address that are never part of it: quotes and brackets of CSV/JSON.
_WRAPPERS = "\"'`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u00ab\u00bb[](){}<>"
_SEPARATORS = re.compile(r"[,;\s]+")
_INVISIBLE_CHARS = re.compile(f"[{INVISIBLE}]")
MAX_ACCOUNTS = 1000


@dataclasses.dataclass
class AccountList:
    """Result of ``parse_account_list``. ``secrets`` holds the seed substrings found (for
    ``mask_secret``); it is never part of ``report()``."""

    valid: list[str] = dataclasses.field(default_factory=list)
    rejected: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    normalised: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    duplicates: int = 0
    secrets: list[str] = dataclasses.field(default_factory=list, repr=False)

    def report(self) -> dict[str, Any]:
        return {"rejected": self.rejected, "normalised": self.normalised, "duplicates": self.duplicates}


def parse_account_list(items: list[Any]) -> AccountList:
    """Split, trim and validate the entries of the enqueue form.

    Each entry may hold one address or several separated by commas, semicolons, whitespace or new
    lines; quotes, brackets and invisible characters around or inside an address are removed and the
    change is reported. An entry holding a secret seed is refused *whole* (its other parts could be
    pieces of it). Rejections and changes are reported by ``index`` (entry) and ``part`` (piece of
    the entry), never with the input itself.
    """
    out, seen = AccountList(), set()
    for index, item in enumerate(items):
        if not isinstance(item, str):
            out.rejected.append({"index": index, "part": 0, "reason": f"expected a string, got {type(item).__name__}"})
            continue
        if looks_like_secret(item):
            out.secrets.extend(seed_substrings(item) or [item])
            out.rejected.append({"index": index, "part": 0, "reason": SEED_REASON})
            continue
        pieces = [p for p in _SEPARATORS.split(item) if p]
        if not pieces:
            out.rejected.append({"index": index, "part": 0, "reason": "empty entry"})
            continue
        for part, piece in enumerate(pieces):
            address, changes = _clean(piece)
            if len(pieces) > 1:
                changes.insert(0, f"split from an entry of {len(pieces)} values")
            if item != piece and item.strip() == piece:
                changes.insert(0, "trimmed surrounding whitespace")
            try:
                address = validate_account(address)
            except InvalidAddress as exc:
                out.rejected.append({"index": index, "part": part, "reason": exc.reason})
                continue
            if changes:
                out.normalised.append({"index": index, "part": part, "address": address, "changes": changes})
            if address in seen:
                out.duplicates += 1
            elif len(out.valid) >= MAX_ACCOUNTS:
                out.rejected.append(
                    {"index": index, "part": part, "reason": f"over the limit of {MAX_ACCOUNTS} addresses per run"}
                )
            else:
                seen.add(address)
                out.valid.append(address)
    return out


def _clean(piece: str) -> tuple[str, list[str]]:
    changes: list[str] = []
    stripped = piece.strip(_WRAPPERS)
    if stripped != piece:
        changes.append("removed quotes or brackets")
    visible = _INVISIBLE_CHARS.sub("", stripped)
    if visible != stripped:
        changes.append("removed invisible characters")
    stripped = visible.strip(_WRAPPERS)
    return stripped, changes
