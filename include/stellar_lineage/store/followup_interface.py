"""The attribute follow-up part of the ``LineageStore`` interface (graph mode): records completed from
the creator graph alone wait here for one Horizon attribute fetch (``graph_mode.run_followups``).
``LineageStore`` inherits it; the backends implement it in ``store/sqlite/followups.py`` and
``store/cassandra/bulk.py``.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Sequence

from include.stellar_lineage.records import LineageResult

# ``last_error`` of a COMPLETE record whose follow-up found the account gone (``finish_followup(result=None)``).
ACCOUNT_GONE_NOTE = "attributes: the account no longer exists on Horizon (merged after the graph)"


class FollowupQueue(abc.ABC):
    @abc.abstractmethod
    def add_followups(self, network: str, accounts: Sequence[str], *, now: dt.datetime | None = None) -> int:
        """Queue a Horizon attribute fetch for COMPLETE records that were completed from the graph
        alone. Idempotent per account; returns how many were added."""

    @abc.abstractmethod
    def claim_followups(
        self,
        limit: int,
        *,
        owner: str,
        network: str | None = None,
        stale_after: dt.timedelta,
        now: dt.datetime | None = None,
    ) -> list[tuple[str, str]]:
        """Atomically take up to ``limit`` follow-ups as ``(network, account)`` (oldest first on SQLite;
        Cassandra spreads claimers over buckets instead: follow-ups are unordered enrichment). A
        follow-up claimed longer than ``stale_after`` ago (its worker died) can be taken again."""

    @abc.abstractmethod
    def finish_followup(
        self,
        network: str,
        account: str,
        *,
        owner: str,
        result: LineageResult | None,
        now: dt.datetime | None = None,
    ) -> bool:
        """Drop ``owner``'s follow-up and, with a ``result``, write its data fields (creator, times,
        attributes, balance, assets, children, tags) into the record if it is still COMPLETE; status
        and pipeline_source stay. ``result=None``: the account no longer exists on Horizon; the
        record keeps its lineage and says so in ``last_error``. False when the claim was lost."""

    @abc.abstractmethod
    def release_followup(
        self, network: str, account: str, *, owner: str, max_attempts: int, now: dt.datetime | None = None
    ) -> bool:
        """A transient failure: the follow-up goes back for a later attempt, or is dropped once it
        has failed ``max_attempts`` times (the record keeps its graph lineage). False when lost."""

    @abc.abstractmethod
    def followup_depth(self, network: str | None = None) -> int:
        """Follow-ups waiting or in flight."""
