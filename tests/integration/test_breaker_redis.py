"""Provider circuit breakers kept in Redis: one breaker per provider for every worker host, one probe
per interval across processes, selected with the Redis rate limiter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from include.stellar_lineage.breaker import ProviderBreakers, SqliteBreakerStorage, breakers_from_settings
from include.stellar_lineage.breaker_redis import RedisBreakerStorage
from include.stellar_lineage.config import parse_settings
from tests.support.redis_server import RedisServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


def storage(server: RedisServer, prefix: str) -> RedisBreakerStorage:
    return RedisBreakerStorage(server.client(), prefix)


def test_compare_and_set_is_atomic_and_versions_advance(redis_server):
    s = storage(redis_server, "t1")
    assert s.load("horizon:public") == (0, {})
    assert s.compare_and_set("horizon:public", 0, {"status": "open"})
    assert not s.compare_and_set("horizon:public", 0, {"status": "closed"})  # someone else won
    assert s.load("horizon:public") == (1, {"status": "open"})
    assert s.compare_and_set("horizon:public", 1, {"status": "closed"})
    assert s.load_all() == {"horizon:public": {"status": "closed"}}


def test_two_hosts_share_one_breaker(redis_server):
    a = ProviderBreakers(storage(redis_server, "t2"), failure_threshold=2, probe_interval_s=3600)
    b = ProviderBreakers(storage(redis_server, "t2"), failure_threshold=2, probe_interval_s=3600)
    assert not a.record_failure("stellar_expert", "HTTP 503")
    assert b.record_failure("stellar_expert", "HTTP 503")  # the second host's fault opens it for both
    assert a.is_open("stellar_expert") and b.is_open("stellar_expert")


def test_one_probe_per_interval_across_processes(redis_server):
    prefix = "t3"
    storage(redis_server, prefix).compare_and_set(
        "horizon:public", 0, {"status": "open", "failures": 1, "opened_at": 1.0}
    )
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(PROJECT_ROOT)!r})
        import redis
        from include.stellar_lineage.breaker import ProviderBreakers
        from include.stellar_lineage.breaker_redis import RedisBreakerStorage
        s = RedisBreakerStorage(redis.Redis.from_url({redis_server.url!r}), {prefix!r})
        b = ProviderBreakers(s, failure_threshold=1, probe_interval_s=3600)
        time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
        print(sum(b.try_probe("horizon:public") for _ in range(20)))
        """
    )
    start = time.time() + 2.0
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(start)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    grants = [int(p.communicate(timeout=60)[0].strip()) for p in procs]
    assert sum(grants) == 1, grants


def test_selected_with_the_redis_rate_limiter(redis_server, monkeypatch, tmp_path):
    monkeypatch.setenv(
        "AIRFLOW_CONN_STELLAR_LINEAGE_REDIS",
        f'{{"conn_type": "redis", "host": "127.0.0.1", "port": {redis_server.port}}}',
    )
    host = breakers_from_settings(parse_settings({}), tmp_path)
    assert isinstance(host.storage, SqliteBreakerStorage)
    cluster = breakers_from_settings(parse_settings({"rate_limiter_backend": "redis"}))
    assert isinstance(cluster.storage, RedisBreakerStorage)
