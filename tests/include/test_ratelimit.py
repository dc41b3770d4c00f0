"""Host-wide rate limiter: strict sliding-window property, server feedback, and 3 OS processes sharing it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from include.stellar_lineage.config import defaults
from include.stellar_lineage import ratelimit
from include.stellar_lineage.ratelimit import (
    Budget,
    BudgetExhausted,
    HostRateLimiter,
    LimiterBusy,
    default_directory,
    limiter_from_settings,
)
from include.stellar_lineage.ratelimit.base import LOCK_WAIT_S
from tests.support.fake_stellar import FakeHorizon
from tests.support.stellar_dataset import Dataset

pytestmark = pytest.mark.slow_module(45)  # rough wall time (s): started first under pytest-xdist

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """Shared simulated time: sleeping advances it, so minutes of traffic run in milliseconds."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:  # window (t - W, t] is half-open
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def test_budget_math():
    b = Budget(60)
    assert (b.count, b.short_count, b.short_window) == (60, 10, pytest.approx(61 / 6))
    assert b.window == 61.0  # 60 s + 1 s guard for delivery jitter
    half = Budget(0.5)  # one request per two minutes
    assert (half.count, half.window) == (1, 121.0)
    with pytest.raises(ValueError):
        Budget(0)


def test_no_window_exceeds_limit_with_interleaved_limiters(tmp_path):
    clock = FakeClock()
    # Two limiter objects on one state file stand in for two task processes.
    limiters = [HostRateLimiter({"horizon": 30}, tmp_path, clock=clock.time, sleep=clock.sleep) for _ in range(2)]
    grants = []
    for i in range(150):  # five simulated minutes of demand far above 30/min
        limiters[i % 2].acquire("horizon")
        grants.append(clock.now)
    assert max_in_window(grants, 60.0) <= 30
    assert max_in_window(grants, 10.0) <= 5  # smoothing window: no whole-minute burst
    # And it is not over-conservative: 150 grants take about 5 minutes at 30/min.
    assert 4.5 * 60 <= grants[-1] - grants[0] <= 5.2 * 60
    for limiter in limiters:
        limiter.close()


def test_apis_have_separate_buckets(tmp_path):
    clock = FakeClock()
    limiter = HostRateLimiter({"horizon": 1, "stellar_expert": 1}, tmp_path, clock=clock.time, sleep=clock.sleep)
    limiter.acquire("horizon")  # horizon's budget for this minute is now spent
    assert limiter.acquire("stellar_expert") == 0.0
    assert limiter.acquire("horizon") == pytest.approx(61, abs=0.2)  # 60 s window + 1 s guard
    with pytest.raises(KeyError, match="No rate budget"):
        limiter.acquire("bigquery")
    limiter.close()


def test_retry_after_pauses_host_and_headers_are_case_insensitive(tmp_path):
    clock = FakeClock()
    a = HostRateLimiter({"horizon": 6000}, tmp_path, clock=clock.time, sleep=clock.sleep)
    b = HostRateLimiter({"horizon": 6000}, tmp_path, clock=clock.time, sleep=clock.sleep)
    assert a.observe("horizon", {"retry-after": "7"}, 429) == 7
    assert b.acquire("horizon") == pytest.approx(7, abs=0.1)
    a.close(), b.close()


def test_low_remaining_spreads_the_rest_over_reset(tmp_path):
    clock = FakeClock()
    lim = HostRateLimiter({"horizon": 6000}, tmp_path, clock=clock.time, sleep=clock.sleep)
    assert (
        lim.observe(
            "horizon", {"X-Ratelimit-Limit": "101", "X-Ratelimit-Remaining": "50", "X-Ratelimit-Reset": "40"}, 200
        )
        == 0.0
    )
    assert lim.observe(
        "horizon", {"x-ratelimit-limit": "101", "x-ratelimit-remaining": "3", "x-ratelimit-reset": "40"}, 200
    ) == pytest.approx(10.0)
    assert lim.acquire("horizon") == pytest.approx(10.0, abs=0.1)
    assert lim.observe("horizon", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"}, 200) == 12
    assert lim.observe("horizon", {"X-RateLimit-Remaining": "junk", "X-RateLimit-Reset": "12"}, 200) == 0.0
    lim.close()


def test_absurd_retry_after_is_capped(tmp_path):
    clock = FakeClock()
    lim = HostRateLimiter({"horizon": 6000}, tmp_path, clock=clock.time, sleep=clock.sleep)
    assert lim.observe("horizon", {"Retry-After": "86400"}, 429) == 300.0
    lim.close()


@pytest.mark.parametrize("step_back", [1.0, 3600.0, 86400.0 * 365])
def test_clock_step_back_allows_no_burst_and_keeps_going(tmp_path, step_back):
    """A source clock stepped back (NTP, VM restore, reboot) must not forget the last minute's grants."""
    clock = FakeClock()
    lim = HostRateLimiter({"horizon": 6}, tmp_path, clock=clock.time, sleep=clock.sleep)
    grants = []  # in true elapsed time: the simulated clock minus the steps taken back
    stepped = 0.0
    for i in range(30):
        lim.acquire("horizon")
        grants.append(clock.now + stepped)
        if i in (3, 11, 20):
            clock.now -= step_back
            stepped += step_back
    assert max_in_window(grants, 60.0) <= 6
    # The clock only stood still for the instant of each step: 30 grants at 6/min take ~5 minutes.
    assert grants[-1] - grants[0] < 5.5 * 60
    lim.close()


def test_clock_step_back_keeps_an_active_429_pause(tmp_path):
    clock = FakeClock()
    lim = HostRateLimiter({"horizon": 6000}, tmp_path, clock=clock.time, sleep=clock.sleep)
    assert lim.observe("horizon", {"Retry-After": "30"}, 429) == 30
    clock.now -= 3600
    assert lim.acquire("horizon") == pytest.approx(30, abs=0.2)
    lim.close()


def test_default_source_clock_is_monotonic(tmp_path, monkeypatch):
    lim = HostRateLimiter({"horizon": 1}, tmp_path)
    assert lim._clock is time.monotonic  # CLOCK_MONOTONIC: shared by the host's processes, never stepped
    lim.acquire("horizon")
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 3600)  # the wall clock steps back an hour
    with ratelimit.deadline(time.monotonic() + 5):
        with pytest.raises(BudgetExhausted):  # still ~61 s to the next slot: no burst
            lim.acquire("horizon")
    lim.close()


def test_state_from_before_the_logical_clock_is_dropped(tmp_path):
    """A state file written with wall-clock times (older versions) must not block for decades."""
    db = sqlite3.connect(tmp_path / "ratelimit.sqlite3")
    db.executescript(
        "CREATE TABLE grants (api TEXT NOT NULL, t REAL NOT NULL);"
        "CREATE TABLE pauses (api TEXT PRIMARY KEY, until REAL NOT NULL, reason TEXT);"
    )
    db.executemany("INSERT INTO grants VALUES ('horizon', ?)", [(time.time() + i,) for i in range(5)])
    db.execute("INSERT INTO pauses VALUES ('horizon', ?, 'old')", (time.time() + 100,))
    db.commit()
    db.close()
    lim = HostRateLimiter({"horizon": 1}, tmp_path)
    assert lim.acquire("horizon") == 0.0
    lim.close()


def test_lock_wait_is_bounded(tmp_path):
    """A process stuck inside the limiter's transaction cannot hold the others past the bound."""
    lim = HostRateLimiter({"horizon": 6000}, tmp_path)
    holder = sqlite3.connect(tmp_path / "ratelimit.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # e.g. a frozen task process
    try:
        t0 = time.monotonic()
        with pytest.raises(LimiterBusy, match="locked"):
            lim.acquire("horizon")
        assert LOCK_WAIT_S - 0.5 <= time.monotonic() - t0 <= LOCK_WAIT_S + 2
        # Near the run's deadline the bound shrinks to what is left of it.
        t0 = time.monotonic()
        with ratelimit.deadline(time.monotonic() + 1.0), pytest.raises(LimiterBusy):
            lim.acquire("horizon")
        assert time.monotonic() - t0 <= 2.5
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert lim.acquire("horizon") == 0.0  # usable again once the holder is gone
    lim.close()


def test_long_waits_are_logged(tmp_path, caplog):
    caplog.set_level("INFO", logger="include.stellar_lineage.ratelimit")
    clock = FakeClock()
    lim = HostRateLimiter({"horizon": 1}, tmp_path, clock=clock.time, sleep=clock.sleep)
    lim.acquire("horizon")
    assert lim.acquire("horizon") == pytest.approx(61, abs=0.2)
    assert "granted after 61" in caplog.text
    lim.close()


def test_directory_defaults_and_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("STELLAR_LINEAGE_RATELIMIT_DIR", str(tmp_path / "x"))
    assert default_directory() == tmp_path / "x"
    monkeypatch.delenv("STELLAR_LINEAGE_RATELIMIT_DIR")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    assert default_directory() == tmp_path / "home" / "stellar_lineage_ratelimit"
    lim = limiter_from_settings(defaults(), tmp_path)
    assert lim.budgets["horizon"].rpm == 60 and lim.budgets["stellar_expert"].rpm == 60
    lim.close()


WORKER = textwrap.dedent("""
    import os, sys, time, requests
    from include.stellar_lineage.ratelimit import HostRateLimiter
    url, directory, until = sys.argv[1], sys.argv[2], float(sys.argv[3])
    limiter = HostRateLimiter({"horizon": 120}, directory)
    session = requests.Session()
    while time.time() < until:
        limiter.acquire("horizon")
        if time.time() >= until:
            break
        session.get(url + "/", params={"pid": os.getpid()}, timeout=5)
""")


def test_three_processes_share_one_budget_against_the_server(tmp_path):
    """3 OS processes, demand far above 120/min for 33 s: the server never sees more than allowed."""
    duration = 33.0
    with FakeHorizon(Dataset("public")) as horizon:
        until = time.time() + duration
        until_mono = time.monotonic() + duration  # the fake server stamps arrivals with this clock
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        procs = [
            subprocess.Popen([sys.executable, "-c", WORKER, horizon.url, str(tmp_path), str(until)], env=env)
            for _ in range(3)
        ]
        for p in procs:
            assert p.wait(timeout=duration + 30) == 0
        log = horizon.request_log()
    arrivals = [r.t_mono for r in log]
    assert len({r.query["pid"] for r in log}) == 3  # every process got a share
    assert max_in_window(arrivals, 60.0) <= 120  # the contract: no 60 s window over the limit
    # Smoothing window (20 per 10 s); 0.25 s slack for delivery jitter between grant and arrival.
    assert max_in_window(arrivals, 10.0 - 0.25) <= 20
    # Not over-conservative either: at 20 per 10 s, 33 s of demand yields about 66-80 requests. Demand
    # starts with the first arrival (three interpreters starting on a loaded CI machine can take
    # seconds), and a starved machine delivers late, so the bound is 60 % of that window's budget.
    demand = until_mono - min(arrivals)
    assert len(arrivals) >= 0.6 * 20 * demand / 10, (len(arrivals), round(demand, 1))


def test_corrupt_state_file_is_a_clear_limiter_error(tmp_path):
    from include.stellar_lineage.ratelimit import DB_NAME, LimiterUnavailable

    (tmp_path / DB_NAME).write_bytes(b"this is not a database\x00" * 200)
    with pytest.raises(LimiterUnavailable) as err:
        HostRateLimiter({"horizon": 60}, tmp_path)
    message = str(err.value)
    assert DB_NAME in message and "delete the file" in message


def test_state_file_corrupted_while_in_use_is_a_limiter_error(tmp_path):
    from include.stellar_lineage.ratelimit import DB_NAME, LimiterUnavailable

    limiter = HostRateLimiter({"horizon": 60_000}, tmp_path)
    limiter.acquire("horizon")
    limiter.close()
    for suffix in ("", "-wal", "-shm"):
        path = tmp_path / (DB_NAME + suffix)
        if path.exists():
            path.write_bytes(b"garbage!" * 4096)
    with pytest.raises(LimiterUnavailable):
        HostRateLimiter({"horizon": 60_000}, tmp_path).acquire("horizon")
