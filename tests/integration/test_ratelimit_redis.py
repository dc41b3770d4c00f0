"""Cluster-wide rate limiter on a real redis-server: one budget and one 429 pause for every process
of every host, a server clock stepped back allows no burst, and every wait is bounded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import redis

from include.stellar_lineage import ratelimit
from include.stellar_lineage.config import parse_settings
from include.stellar_lineage.ratelimit import (
    BudgetExhausted,
    HostRateLimiter,
    LimiterUnavailable,
    RedisRateLimiter,
    limiter_from_settings,
)
from include.stellar_lineage.ratelimit.base import LOCK_WAIT_S
from tests.include.test_ratelimit import max_in_window
from tests.support.fake_stellar import FakeHorizon
from tests.support.redis_server import RedisServer, free_port
from tests.support.stellar_dataset import Dataset

pytestmark = pytest.mark.slow_module(40)  # rough wall time (s): started first under pytest-xdist

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def prefix(request):
    return f"test:{request.node.name}:{time.monotonic_ns()}"


def test_two_hosts_share_one_budget(redis_server, prefix):
    """Two limiter instances (two hosts) grant 6/min *together*, not 6/min each."""
    hosts = [RedisRateLimiter.from_url({"horizon": 6}, redis_server.url, prefix=prefix) for _ in range(2)]
    with ratelimit.deadline(time.monotonic() + 3):
        granted = 0
        for i in range(20):
            try:
                hosts[i % 2].acquire("horizon")
                granted += 1
            except BudgetExhausted:
                break
    # The smoothing window allows ceil(6/6) = 1 request per ~10 s: one grant, then the next is ~10 s away.
    assert granted == 1
    for h in hosts:
        h.close()


def test_429_pauses_every_host(redis_server, prefix):
    a = RedisRateLimiter.from_url({"horizon": 6000}, redis_server.url, prefix=prefix)
    b = RedisRateLimiter.from_url({"horizon": 6000}, redis_server.url, prefix=prefix)
    assert a.observe("horizon", {"Retry-After": "2"}, 429) == 2
    t0 = time.monotonic()
    assert b.acquire("horizon") == pytest.approx(2, abs=0.3)
    assert time.monotonic() - t0 == pytest.approx(2, abs=0.5)
    a.close(), b.close()


def _step_server_clock_back(client, limiter: RedisRateLimiter, api: str, seconds: float) -> None:
    """As if the Redis server's wall clock had stepped back by ``seconds`` since the last call."""
    clock_key = limiter.keys(api)[2]
    source = float(client.hget(clock_key, "source"))
    client.hset(clock_key, "source", f"{source + seconds:.6f}")


def test_server_clock_step_back_allows_no_burst_and_keeps_the_pause(redis_server, prefix):
    client = redis_server.client()
    lim = RedisRateLimiter.from_url({"horizon": 2, "stellar_expert": 6000}, redis_server.url, prefix=prefix)
    lim.acquire("horizon")  # 1 of 1 in the ~30 s smoothing window
    _step_server_clock_back(client, lim, "horizon", 3600)
    with ratelimit.deadline(time.monotonic() + 3), pytest.raises(BudgetExhausted, match="slot in 3[01]"):
        lim.acquire("horizon")  # still ~30 s to wait, not 3630 s and not 0
    logical = float(client.hget(lim.keys("horizon")[2], "logical"))
    time.sleep(0.3)
    lim.acquire("stellar_expert")
    with ratelimit.deadline(time.monotonic() + 1), pytest.raises(BudgetExhausted):
        lim.acquire("horizon")
    assert float(client.hget(lim.keys("horizon")[2], "logical")) >= logical + 0.25  # it keeps moving
    # An active 429 pause survives a step back too.
    lim.observe("stellar_expert", {"Retry-After": "20"}, 429)
    _step_server_clock_back(client, lim, "stellar_expert", 3600)
    with ratelimit.deadline(time.monotonic() + 2), pytest.raises(BudgetExhausted, match="slot in (19|20)"):
        lim.acquire("stellar_expert")
    lim.close()
    client.close()


def test_unreachable_redis_fails_fast(prefix):
    lim = RedisRateLimiter.from_url({"horizon": 60}, f"redis://127.0.0.1:{free_port()}/0", prefix=prefix)
    t0 = time.monotonic()
    with pytest.raises(LimiterUnavailable, match="Redis"):
        lim.acquire("horizon")
    assert time.monotonic() - t0 < LOCK_WAIT_S + 1


def test_silent_redis_wait_is_bounded(prefix):
    """A server that accepts and never answers (hung Redis, dead proxy) holds a caller at most the bound."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        with ratelimit.deadline(time.monotonic() + 1.5):
            lim = RedisRateLimiter.from_url({"horizon": 60}, url, prefix=prefix)
            t0 = time.monotonic()
            with pytest.raises(LimiterUnavailable):
                lim.acquire("horizon")
        assert time.monotonic() - t0 < 2.5
    finally:
        stop.set()
        thread.join()
        for s in held:
            s.close()
        listener.close()


def test_backend_is_selected_by_variable_and_connection(redis_server, monkeypatch, tmp_path):
    monkeypatch.setenv(
        "AIRFLOW_CONN_STELLAR_LINEAGE_REDIS",
        f'{{"conn_type": "redis", "host": "127.0.0.1", "port": {redis_server.port}, "extra": {{"db": 3}}}}',
    )
    host = limiter_from_settings(parse_settings({}), tmp_path)
    assert isinstance(host, HostRateLimiter)
    host.close()
    cluster = limiter_from_settings(parse_settings({"rate_limiter_backend": "redis"}))
    assert isinstance(cluster, RedisRateLimiter)
    cluster.acquire("horizon")  # the grant lands in db 3, the Connection's extra
    assert redis.Redis(port=redis_server.port, db=3).exists(cluster.keys("horizon")[0]) == 1
    assert redis.Redis(port=redis_server.port, db=0).exists(cluster.keys("horizon")[0]) == 0
    cluster.close()


WORKER = textwrap.dedent("""
    import os, sys, time, requests
    from include.stellar_lineage.ratelimit import RedisRateLimiter
    url, redis_url, prefix, until = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    limiter = RedisRateLimiter.from_url({"horizon": 360}, redis_url, prefix=prefix)
    session = requests.Session()
    while time.time() < until:
        limiter.acquire("horizon")
        if time.time() >= until:
            break
        session.get(url + "/", params={"pid": os.getpid()}, timeout=5)
""")


def test_processes_on_two_hosts_hold_the_budget_at_the_server(redis_server, prefix):
    """4 OS processes ("two hosts" of two), demand far above 360/min for 25 s: the server never sees
    more than the smoothing window allows (60 per 10.2 s), and the budget is used."""
    duration = 25.0
    with FakeHorizon(Dataset("public")) as horizon:
        until = time.time() + duration
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        args = [horizon.url, redis_server.url, prefix, str(until)]
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, *args], env=env) for _ in range(4)]
        for p in procs:
            assert p.wait(timeout=duration + 40) == 0
        log = horizon.request_log()
    arrivals = [r.t_mono for r in log]
    assert len({r.query["pid"] for r in log}) == 4
    short_window = 61.0 * 60 / 360  # Budget(360).short_window
    assert max_in_window(arrivals, short_window - 0.25) <= 60
    assert max_in_window(arrivals, 60.0) <= 360
    assert len(arrivals) >= 120, len(arrivals)  # 25 s at 60 per 10.2 s: ~150 (not over-conservative)
