"""A dry run that cannot be made refuses the batch (nothing billed) instead of failing the run."""

from __future__ import annotations

from include.stellar_lineage.config import defaults
from include.stellar_lineage.hubble import cost
from include.stellar_lineage.hubble.pipeline import estimate_batch

A = "GALPCCZN4YXA3YMJHKL6CVIECKPLJJCTVMSNYWBTKJW4K5HQLYLDMZTB"


class _BrokenHubble:
    def dry_run(self, accounts):
        raise PermissionError("403 Access Denied: no bigquery.jobs.create permission")


def test_failed_dry_run_refuses_and_is_ledgered(sqlite_store):
    decision = estimate_batch(sqlite_store, defaults(), [A], "public", hubble=_BrokenHubble(), run_id="r1")
    assert decision["approved"] is False
    assert decision["decision"] == cost.REFUSED_DRY_RUN_FAILED
    assert "PermissionError" in decision["reason"] and "API path" in decision["reason"]
    summary = sqlite_store.spend_summary()
    assert summary["dry_runs"] == 1 and summary["refused"] == 1
    assert summary["total_usd"] == 0 and summary["saved_usd"] == 0
