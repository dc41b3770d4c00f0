"""Pure cost-guard logic and row parsing of the Hubble path (no BigQuery, no Airflow run)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest

from include.stellar_lineage.config import defaults
from include.stellar_lineage.hubble import cost
from include.stellar_lineage.hubble.query import lineage_sql
from include.stellar_lineage.hubble.results import amount, parse_rows
from include.stellar_lineage.records import NETWORK_ROOTS
from tests.support.stellar_dataset import address

GB, TIB = 10**9, 2**40


def settings(**kw):
    return dataclasses.replace(defaults(), **kw)


def test_usd_is_bytes_over_tib_times_price():
    assert cost.usd_for_bytes(TIB, 6.25) == pytest.approx(6.25)
    assert cost.usd_for_bytes(145 * GB, 6.25) == pytest.approx(0.8242, abs=1e-4)


def test_seed_limits_bind_on_cost_first():
    # $0.71 at $6.25/TiB is ~124.9 GB, tighter than the 145 GB size limit.
    s = defaults()
    assert cost.limit_bytes(s) == int(0.71 / 6.25 * TIB)
    assert cost.limit_bytes(s) < 145 * GB


def test_approved_batch_gets_a_cap_with_margin_never_above_the_limit():
    s = defaults()
    d = cost.decide(95 * GB, s, spent_today_usd=0.0, referenced_tables=2)
    assert d.approved and d.decision == cost.APPROVED
    assert d.max_bytes_billed == math.ceil(95 * GB * (1 + cost.CAP_MARGIN))
    near = cost.decide(cost.limit_bytes(s) - 1, s, spent_today_usd=0.0)
    assert near.approved and near.max_bytes_billed == cost.limit_bytes(s)  # margin clipped at the limit


def test_tiny_estimate_is_billed_at_the_per_table_minimum():
    d = cost.decide(1000, defaults(), spent_today_usd=0.0, referenced_tables=2)
    assert d.billable_bytes == 2 * cost.MIN_BILLED_PER_TABLE
    assert d.max_bytes_billed >= 2 * cost.MIN_BILLED_PER_TABLE  # else BigQuery would refuse the job


@pytest.mark.parametrize(
    "kw, estimate, spent, expected",
    [
        ({}, 130 * GB, 0.0, cost.REFUSED_COST),  # $0.74 > $0.71
        ({"bigquery_cost_limit_usd": 100.0, "bigquery_daily_budget_usd": 100.0}, 146 * GB, 0.0, cost.REFUSED_SIZE),
        ({"bigquery_daily_budget_usd": 1.0}, 95 * GB, 0.5, cost.REFUSED_BUDGET),  # 0.5 + 0.54 > 1.0
        ({"bigquery_daily_budget_usd": 1.1}, 95 * GB, 0.5, cost.APPROVED),
    ],
)
def test_refusals(kw, estimate, spent, expected):
    d = cost.decide(estimate, settings(**kw), spent_today_usd=spent, referenced_tables=2)
    assert d.decision == expected, d.reason
    assert (d.max_bytes_billed is None) == (expected != cost.APPROVED)
    if expected != cost.APPROVED:
        assert "stellar_lineage_bigquery_" in d.reason  # names the Variable to change


def test_cost_refusal_wins_over_budget():
    d = cost.decide(200 * GB, settings(bigquery_daily_budget_usd=0.0), spent_today_usd=9.0)
    assert d.decision == cost.REFUSED_COST


def test_sql_has_no_comments_values_or_unvalidated_identifiers():
    sql = lineage_sql(defaults())
    assert "--" not in sql and "@accounts" in sql and "@max_children" in sql
    # ties by operation id: op_id is the one dense ordering column; closed_at would add ~80 GB
    assert "ORDER BY op_id DESC" in sql and "closed_at >=" not in sql and "found.closed_at" not in sql
    assert "`crypto-stellar.crypto_stellar_dbt.enriched_history_operations`" in sql
    assert "`crypto-stellar.crypto_stellar.history_ledgers`" in sql
    assert "type = 0" not in sql and "funder IS NOT NULL" in sql and "SELECT *" not in sql
    with pytest.raises(ValueError, match="bigquery_dataset"):
        lineage_sql(settings(bigquery_dataset="x`; DROP TABLE y; --"))


def test_amount_keeps_seven_decimals_exactly():
    assert amount(2.5) == "2.5000000"
    assert amount(12.3456789) == "12.3456789"
    assert amount(99999999.9999999) == "99999999.9999999"
    assert amount(None) is None


def test_parse_rows_creators_children_root_and_missing():
    t = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    A, B, F, C1, C2 = (address(f"parse-rows-{n}") for n in ("a", "b", "f", "c1", "c2"))  # valid ids only
    root = NETWORK_ROOTS["public"]
    rows = [
        {
            "kind": "creator",
            "subject": A,
            "related": F,
            "created_at": t,
            "starting_balance": 5.0,
            "child_total": None,
            "ledger": 7,
        },
        {
            "kind": "child",
            "subject": A,
            "related": C2,
            "created_at": t + dt.timedelta(days=2),
            "starting_balance": 1.0,
            "child_total": 3,
            "ledger": 9,
            "op_id": 9 << 32 | 1 << 12 | 1,
            "as_of_ledger": 50,
        },
        {
            "kind": "child",
            "subject": A,
            "related": C1,
            "created_at": t + dt.timedelta(days=1),
            "starting_balance": 1.0,
            "child_total": 3,
            "ledger": 8,
            "op_id": 8 << 32 | 1 << 12 | 1,
            "as_of_ledger": 50,
        },
    ]
    out = parse_rows(rows, [A, B, root], network="public")
    a = out[A]
    assert a.found and a.creator == F and a.created_at == t and a.creation_ledger == 7
    assert [c["account"] for c in a.children] == [C1, C2]  # operation (creation) order
    assert a.as_of_ledger == 50 and out[B].as_of_ledger == 50  # Hubble's last loaded ledger
    assert a.children[0] == {"account": C1, "created_at": "2020-01-02T00:00:00Z", "starting_balance": "1.0000000"}
    assert a.child_total == 3  # capped by @max_children: the count stays exact
    assert not out[B].found  # -> API fallback
    assert out[root].found and out[root].creator is None  # genesis


# --- job error classification and the steps' refusals (fake BigQuery client, real SQLite store) ----
def test_job_errors_are_classified_by_reason_or_text_not_by_status():
    from google.api_core import exceptions as gexc

    from include.stellar_lineage.hubble.query import _reason, _retryable

    billed_500 = gexc.InternalServerError("Query exceeded limit for bytes billed: 10. 20 or higher required.")
    assert _reason(billed_500) == "bytesBilledLimitExceeded" and not _retryable(billed_500)
    quota = gexc.Forbidden("Quota exceeded", errors=[{"reason": "quotaExceeded", "message": "x"}])
    assert _reason(quota) == "quotaExceeded"
    assert _reason(gexc.Forbidden("Access Denied: Table crypto-stellar...")) == "accessDenied"
    assert _retryable(gexc.ServiceUnavailable("try again"))


class NoBigQuery:
    """Fails the test if the step talks to BigQuery when it must not."""

    def dry_run(self, *a, **k):
        raise AssertionError("no dry run expected")

    def run(self, *a, **k):
        raise AssertionError("no job expected")


def _claimed(store, accounts, network="public"):
    store.enqueue(network, accounts)
    records = store.claim_batch(len(accounts), pipeline="BIGQUERY", owner="o", network=network)
    return {
        "owner": "o",
        "pipeline": "BIGQUERY",
        "records": [{"network": network, "account": r.stellar_account} for r in records],
    }


def test_testnet_batch_is_refused_without_a_dry_run(sqlite_store):
    from include.stellar_lineage.hubble.pipeline import estimate_batch

    out = estimate_batch(sqlite_store, defaults(), ["G" + "A" * 55], "testnet", hubble=NoBigQuery())
    assert out["decision"] == cost.REFUSED_NETWORK and out["approved"] is False
    assert sqlite_store.spend_summary()["dry_runs"] == 0


def test_retried_query_task_rechecks_the_budget_before_billing_again(sqlite_store):
    from include.stellar_lineage.hubble.pipeline import run_batch
    from include.stellar_lineage.records import SpendEntry
    from tests.support.stellar_dataset import address

    s = settings(bigquery_daily_budget_usd=1.0)
    claim = _claimed(sqlite_store, [address("retry-a"), address("retry-b")])
    accounts = [r["account"] for r in claim["records"]]
    decision = cost.decide(95 * GB, s, spent_today_usd=0.0, referenced_tables=2)
    chunk = decision.as_query(approved=True, accounts=len(accounts), network="public", dry_run_only=False)
    guard = {"approved": True, "chunks": [{**chunk, "batch": accounts}]}
    # the first try billed its job, then the task crashed
    sqlite_store.record_spend(
        SpendEntry(kind="job", network="public", bytes=95 * GB, usd=0.54, accounts=2, decision="ran")
    )
    out = run_batch(sqlite_store, s, claim, guard, hubble=NoBigQuery(), client_for=lambda n: None, recheck_budget=True)
    assert out["reason"] == cost.REFUSED_BUDGET and sorted(out["handed"]) == sorted(
        r["account"] for r in claim["records"]
    )


def test_job_timeout_cancels_the_job_and_reports_timeout():
    import concurrent.futures

    from include.stellar_lineage.hubble.query import HubbleClient, HubbleUnavailable

    class SlowJob:
        job_id, cancelled = "job-1", False

        def result(self, timeout=None, retry=None):
            raise concurrent.futures.TimeoutError()

        def cancel(self):
            SlowJob.cancelled = True

    class Client:
        def query(self, sql, job_config=None, location=None, retry=None, job_retry=None):
            assert job_config.maximum_bytes_billed == 123 and job_retry is None
            assert int(job_config.job_timeout_ms) == 5000  # BigQuery stops the job server-side too
            return SlowJob()

    with pytest.raises(HubbleUnavailable) as err:
        HubbleClient(defaults(), client=Client()).run(["G" + "A" * 55], max_bytes_billed=123, timeout_s=5)
    assert err.value.reason == "timeout" and SlowJob.cancelled
