"""What tasks hand to each other through XCom, as TypedDicts (JSON-able, checked by mypy).

A claim task returns a ``Claim``; the tasks that finish it (the cost guard, the Hubble query, the API
path) read it back through ``claim.output``.
"""

from __future__ import annotations

from typing import TypedDict


class ClaimedRecord(TypedDict):
    network: str
    account: str


class Claim(TypedDict):
    """One run's claim: the owner token every finishing task acts as, and what it claimed."""

    owner: str
    pipeline: str
    records: list[ClaimedRecord]
