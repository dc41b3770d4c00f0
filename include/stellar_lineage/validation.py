"""Stellar account address validation (SEP-23 StrKey) with reasons a person can act on.

The checksum and version-byte checks are stellar-sdk's ``StrKey`` (a well-kept implementation of
SEP-23: base32, version byte, CRC16-XModem, canonical re-encoding); this module only adds the
classification that turns "invalid" into a useful reason. A secret seed is never echoed back: the
reason and ``redact()`` both hide it.
"""

from __future__ import annotations

import re

from stellar_sdk import StrKey

ACCOUNT_LENGTH = 56
_BASE32 = re.compile(r"^[A-Z2-7]+$")


class InvalidAddress(ValueError):
    """The value is not a Stellar G… account address; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def looks_like_secret(value: str) -> bool:
    """True for anything shaped like an S… secret seed (checked before any echo)."""
    candidate = value.strip()
    return len(candidate) == ACCOUNT_LENGTH and candidate[:1] in ("S", "s")


def redact(value: object) -> str:
    """A loggable form of user input: seeds are hidden, long or odd input is shortened."""
    text = str(value)
    if looks_like_secret(text) or StrKey.is_valid_ed25519_secret_seed(text.strip()):
        return "S…(secret seed redacted)"
    text = text.replace("\n", "\\n").replace("\r", "\\r")
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
    if looks_like_secret(value) or StrKey.is_valid_ed25519_secret_seed(value):
        raise InvalidAddress("this is a secret seed (S…), not an account address; never share it")
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


def split_valid(values: list[object]) -> tuple[list[str], list[tuple[str, str]]]:
    """Valid addresses (deduplicated, input order) and ``(redacted input, reason)`` pairs."""
    valid: list[str] = []
    invalid: list[tuple[str, str]] = []
    seen: set[str] = set()
    for value in values:
        try:
            address = validate_account(value)
        except InvalidAddress as exc:
            invalid.append((redact(value), exc.reason))
            continue
        if address not in seen:
            seen.add(address)
            valid.append(address)
    return valid, invalid
