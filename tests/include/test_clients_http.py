"""The retry policy over real HTTP: 429 storms (Retry-After measured), 5xx, bad JSON, timeouts, 4xx, keys."""

from __future__ import annotations

import logging
import time
import types

import pytest

from include.stellar_lineage.clients import (
    AccountNotFound,
    ApiRequestError,
    Endpoint,
    MalformedResponse,
    TransientApiError,
    endpoint_from_connection,
)
from include.stellar_lineage.clients.factory import resolve_endpoint
from include.stellar_lineage.ratelimit import HostRateLimiter
from tests.support.lineage_scenarios import A, running_stack, scenario_settings

SECRET = "sk_live_0123456789abcdef"


@pytest.fixture
def stack(tmp_path):
    with running_stack(tmp_path) as s:
        yield s


def gaps(records) -> list[float]:
    return [b.t_mono - a.t_mono for a, b in zip(records, records[1:], strict=False)]


def test_429_storm_exhausts_retries_and_honours_retry_after(stack):
    stack.horizon.faults.storm_429 = True
    stack.horizon.faults.retry_after = 1
    started = time.monotonic()
    with pytest.raises(TransientApiError) as err:
        stack.client(scenario_settings(http_max_attempts=3)).fetch_lineage(A["alice"])
    elapsed = time.monotonic() - started
    assert err.value.reason == f"horizon GET /accounts/{A['alice']}: HTTP 429 after 3 attempts"
    attempts = stack.horizon.request_log()
    assert [r.status for r in attempts] == [429, 429, 429]
    # Backoff base is 0.05 s, so only Retry-After explains >= 1 s between attempts.
    assert all(g >= 0.98 for g in gaps(attempts)), gaps(attempts)
    assert 1.95 <= elapsed < 4.0


def test_429_then_success_recovers_with_same_result(stack):
    expected = stack.client().fetch_lineage(A["alice"])
    stack.horizon.reset()
    stack.horizon.faults.fail_429 = 2
    stack.horizon.faults.retry_after = 1
    assert stack.client().fetch_lineage(A["alice"]) == expected
    account_calls = stack.horizon.request_log(f"^/accounts/{A['alice']}$")
    assert [r.status for r in account_calls] == [429, 429, 200]
    assert all(g >= 0.98 for g in gaps(account_calls))


def test_429_pauses_the_whole_host_for_that_api(stack, tmp_path):
    stack.horizon.faults.fail_429 = 1
    stack.horizon.faults.retry_after = 2
    with pytest.raises(TransientApiError):
        stack.client(scenario_settings(http_max_attempts=1)).fetch_lineage(A["bob"])
    # Another process's limiter (same state directory) must now wait out the Retry-After too.
    other = HostRateLimiter({"horizon": 60_000, "stellar_expert": 60_000}, tmp_path)
    try:
        waited = other.acquire("horizon")
        assert 1.5 <= waited <= 2.5, waited
        assert other.acquire("stellar_expert") < 0.5  # other APIs are not paused
    finally:
        other.close()


def test_5xx_is_retried_then_succeeds(stack):
    stack.horizon.faults.fail_5xx = 2
    stack.horizon.faults.status_5xx = 500
    result = stack.client().fetch_lineage(A["bob"])
    assert result.creator == A["alice"]
    assert [r.status for r in stack.horizon.request_log()][:3] == [500, 500, 200]


def test_5xx_exhausted_is_transient(stack):
    stack.horizon.faults.fail_5xx = 10
    stack.horizon.faults.status_5xx = 503
    with pytest.raises(TransientApiError, match=r"HTTP 503 after 3 attempts") as err:
        stack.client().fetch_lineage(A["bob"])
    assert not isinstance(err.value, MalformedResponse)
    assert stack.horizon.count() == 3


def test_malformed_json_exhausted_raises_malformed_response(stack):
    stack.horizon.faults.malformed = 10
    with pytest.raises(MalformedResponse) as err:
        stack.client().fetch_lineage(A["bob"])
    assert isinstance(err.value, TransientApiError)  # the record is retried later, not INVALID
    assert err.value.reason == f"horizon GET /accounts/{A['bob']}: invalid JSON body after 3 attempts"


def test_single_malformed_body_is_retried(stack):
    stack.horizon.faults.malformed = 1
    assert stack.client().fetch_lineage(A["bob"]).creator == A["alice"]


def test_unexpected_shape_is_malformed(stack):
    original = stack.horizon._page
    stack.horizon._page = lambda *a: {**original(*a), "_embedded": {"records": "nope"}}
    with pytest.raises(MalformedResponse, match="no _embedded.records list"):
        stack.client().fetch_lineage(A["bob"])


def test_timeouts_are_retried_then_transient(stack):
    stack.horizon.faults.timeouts = 10
    stack.horizon.faults.timeout_sleep_s = 3.0
    started = time.monotonic()
    with pytest.raises(TransientApiError) as err:
        stack.client(scenario_settings(http_timeout_seconds=0.3, http_max_attempts=2)).fetch_lineage(A["bob"])
    assert err.value.reason == f"horizon GET /accounts/{A['bob']}: timeout after 0.3s after 2 attempts"
    assert time.monotonic() - started < 2.0  # did not wait for the server's 3 s answers


def test_one_timeout_then_success(stack):
    stack.horizon.faults.timeouts = 1
    stack.horizon.faults.timeout_sleep_s = 1.5
    result = stack.client(scenario_settings(http_timeout_seconds=0.3)).fetch_lineage(A["bob"])
    assert result.creator == A["alice"]


def test_connection_refused_is_transient(stack):
    client = stack.client(horizon="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(TransientApiError, match="connection error .* after 3 attempts"):
        client.fetch_lineage(A["bob"])


def test_other_4xx_are_not_retried(stack):
    client = stack.client()
    with pytest.raises(ApiRequestError) as err:
        client.horizon.account("GBAD")
    assert (err.value.status, err.value.problem_type) == (400, "https://stellar.org/horizon-errors/bad_request")
    with pytest.raises(AccountNotFound):
        client.horizon.account(A["ghost"])
    assert stack.horizon.count() == 2  # one attempt each
    with pytest.raises(ApiRequestError, match="HTTP 402"):
        client.expert.http.get_json("/explorer/public/tx", {"account[]": A["bob"]})
    assert stack.expert.count() == 1


def test_retry_after_over_the_cap_gives_up_at_once(stack):
    stack.horizon.faults.storm_429 = True
    stack.horizon.faults.retry_after = 3600
    started = time.monotonic()
    with pytest.raises(TransientApiError, match="Retry-After 3600s"):
        stack.client().fetch_lineage(A["bob"])
    assert time.monotonic() - started < 1.0 and stack.horizon.count() == 1
    stack.limiter.pause("horizon", 0, "test cleanup")


def test_stellar_expert_errors_use_the_same_policy(stack):
    stack.expert.faults.fail_429 = 1
    stack.expert.faults.retry_after = 1
    assert stack.client().fetch_lineage(A["alice"]).tags == ["anchor", "issuer"]
    assert [r.status for r in stack.expert.request_log()] == [429, 200]


def test_api_key_is_sent_but_never_logged(stack, caplog):
    caplog.set_level(logging.DEBUG)
    stack.horizon.faults.fail_5xx = 1
    endpoint = Endpoint(stack.horizon.url, {"Authorization": f"Bearer {SECRET}"})
    stack.client(horizon=endpoint).fetch_lineage(A["bob"])
    assert {r.authorization for r in stack.horizon.request_log()} == {f"Bearer {SECRET}"}
    assert "retrying" in caplog.text and SECRET not in caplog.text
    assert SECRET not in repr(endpoint) and SECRET not in repr(stack.client(horizon=endpoint).horizon.http)


def test_endpoint_from_connection_variants():
    conn = types.SimpleNamespace(
        conn_id="horizon_public",
        host="horizon.example",
        schema="",
        port=8443,
        password=SECRET,
        extra_dejson={"api_key_header": "X-API-Key", "headers": {"X-Client": "lineage"}},
    )
    ep = endpoint_from_connection(conn)
    assert ep.base_url == "https://horizon.example:8443"
    assert dict(ep.headers) == {"X-Client": "lineage", "X-API-Key": SECRET}
    conn = types.SimpleNamespace(
        conn_id="stellar_expert",
        host="https://api.stellar.expert/",
        schema=None,
        port=None,
        password=None,
        extra_dejson={},
    )
    assert endpoint_from_connection(conn) == Endpoint("https://api.stellar.expert", {})
    with pytest.raises(ValueError, match="has no host"):
        endpoint_from_connection(
            types.SimpleNamespace(conn_id="x", host="", schema=None, port=None, password=None, extra_dejson={})
        )


def test_connections_resolved_through_airflow(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_HORIZON_TESTNET",
        '{"conn_type": "http", "host": "http://127.0.0.1:1234", "password": "%s"}' % SECRET,
    )
    ep = resolve_endpoint("horizon_testnet")
    assert ep.base_url == "http://127.0.0.1:1234"
    assert dict(ep.headers) == {"Authorization": f"Bearer {SECRET}"}
    monkeypatch.delenv("AIRFLOW_CONN_STELLAR_EXPERT", raising=False)
    assert resolve_endpoint("stellar_expert") == Endpoint("https://api.stellar.expert")


def test_remaining_header_slows_the_client_before_the_server_says_429(stack):
    from tests.support.fake_http import GCRABudget

    # Server: 10 req/s sustained, burst 3. Our own budget is far higher, so only X-RateLimit-Remaining /
    # Reset feedback can keep the client from being throttled.
    stack.horizon.budget = GCRABudget(per_hour=36_000, burst=3)
    client = stack.client()
    for name in ("bob", "carol", "phoenix", "quiet", "alice"):
        client.fetch_lineage(A[name])
    statuses = [r.status for r in stack.horizon.request_log()]
    assert len(statuses) >= 10 and 429 not in statuses, statuses


def test_every_attempt_and_page_takes_a_limiter_slot_first(stack):
    taken: list[str] = []
    real_acquire = stack.limiter.acquire

    def acquire(api):
        taken.append(api)
        return real_acquire(api)

    stack.limiter.acquire = acquire
    stack.horizon.faults.fail_5xx = 1
    stack.expert.faults.fail_429 = 1
    stack.expert.faults.retry_after = 0
    client = stack.client()
    client.fetch_lineage(A["hub"])  # account + 3 payment pages + a retry; SE directory + a retry
    assert taken.count("horizon") == stack.horizon.count() == 5
    assert taken.count("stellar_expert") == stack.expert.count() == 2
    assert client.request_counts() == {"horizon": 5, "stellar_expert": 2}
