"""Secret seeds in the shapes people paste them, shared by the detector, enqueue, UI and e2e tests.

Seeds are derived (ed25519 seed = SHA-256 of a label), never real funds; ``SEED`` is the
all-zero seed from reference/stellar_apis.md §4.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from pathlib import Path

from stellar_sdk import Keypair

SEED = "SAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABSU2"
DERIVED = Keypair.from_raw_ed25519_seed(hashlib.sha256(b"stellar-lineage test seed").digest()).secret
VALID = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"
VALID2 = "GALPCCZN4YXA3YMJHKL6CVIECKPLJJCTVMSNYWBTKJW4K5HQLYLDMZTB"


def shapes(seed: str = DERIVED) -> dict[str, tuple[str, bool]]:
    """name -> (text holding ``seed``, refused by the enqueue Param schema's regex)."""
    mixed = "".join(c.lower() if i % 2 else c for i, c in enumerate(seed))
    return {  # (the schema allows no spaces inside a seed, so that lines of addresses pass; the task's
        # detector also catches seeds split by arbitrary spaces: see test_seeds)
        "plain": (seed, True),
        "trailing comma": (seed + ",", True),
        "double quotes": (f'"{seed}"', True),
        "single quotes + spaces": (f"  '{seed}'  ", True),
        "zero-width space inside": (seed[:9] + "\u200b" + seed[9:], True),
        "BOM + soft hyphen": ("\ufeff" + seed[:30] + "\u00ad" + seed[30:], True),
        "lower case": (seed.lower(), True),
        "mixed case": (mixed, True),
        "prefix seed:": ("seed:" + seed, True),
        "inside a sentence": (f"my secret key is {seed}, please add it", True),
        "JSON array": (f'["{VALID}", "{seed}"]', True),
        "CSV line": (f"{VALID},{seed},public", True),
        "surrounded by newlines": (f"\n\n{seed}\n\n", True),
        "URL-encoded": ("".join(f"%{ord(c):02X}" for c in seed), True),
        "URL-encoded twice": ("".join(f"%25{ord(c):02x}" for c in seed), True),
        "URL query value": ("account=" + urllib.parse.quote(seed[:20]) + "%E2%80%8B" + seed[20:], True),
        "full-width letters": ("".join(chr(ord(c) + 0xFEE0) for c in seed), True),
        "groups of four": (" ".join(seed[i : i + 4] for i in range(0, 56, 4)), True),
        "groups of five, dashes": ("-".join(seed[i : i + 5] for i in range(0, 56, 5)), True),
        "split over two lines": (seed[:28] + "\r\n" + seed[28:], True),
    }


def holds_seed(text: str, seed: str = DERIVED) -> bool:
    """``seed`` in ``text`` after up to two URL-decodings, in any case, with all punctuation removed."""
    for _ in range(2):
        text = urllib.parse.unquote(text)
    return seed in re.sub(r"[^A-Za-z0-9]", "", text).upper()


def files_with_seed(root: Path, seed: str = DERIVED) -> list[str]:
    """Files under ``root`` (SQLite databases aside: their pages are checked raw) that hold ``seed``."""
    return [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix not in (".db", ".db-wal", ".db-shm")
        and holds_seed(path.read_bytes().decode("utf-8", "replace"), seed)
    ]
