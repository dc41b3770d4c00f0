"""What tasks hand to each other through XCom, as TypedDicts (JSON-able, checked by mypy).

A claim task returns a ``Claim``; the tasks that finish it (the API path, the Hubble query) read it
back through ``claim.output``. Summaries are what those tasks return for the run's log and the UI.
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


class ApiSummary(TypedDict, total=False):
    """``api_pipeline.process_claimed``'s counts per outcome (keys are the outcomes)."""

    complete: int
    climbed: int
    invalid: int
    retry_later: int
    failed: int
    released: int
    claim_lost: int
    claimed: int
    seconds: float
    source: str
