"""Cluster-wide storage of the provider circuit breakers: one Redis hash, every change one atomic
compare-and-set in a Lua script, so every worker host sees one breaker per provider and one probe per
interval (the host-file storage would give each host its own). Selected with the rate limiter:
``stellar_lineage_rate_limiter_backend = redis`` (same Connection, same Redis)."""

from __future__ import annotations

import json
from typing import Any

from include.stellar_lineage.breaker import BreakerStorage, BreakerUnavailable

# KEYS[1] hash; ARGV: provider, expected version, new document {"v": version + 1, "state": ...}.
CAS = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local v = 0
if cur then v = tonumber(cjson.decode(cur)['v']) end
if v ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


class RedisBreakerStorage(BreakerStorage):
    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.key = f"{prefix}:breakers"
        self._cas = client.register_script(CAS)

    @classmethod
    def from_settings(cls, settings: Any) -> RedisBreakerStorage:
        import redis

        from include.stellar_lineage.ratelimit import redis_url_from_settings
        from include.stellar_lineage.ratelimit.base import LOCK_WAIT_S

        url, prefix = redis_url_from_settings(settings)
        return cls(redis.Redis.from_url(url, socket_timeout=LOCK_WAIT_S, socket_connect_timeout=LOCK_WAIT_S), prefix)

    def _do(self, what: str, call: Any) -> Any:
        import redis

        try:
            return call()
        except redis.RedisError as exc:
            raise BreakerUnavailable(f"Redis hash {self.key} ({what})", exc) from exc

    def load(self, provider: str) -> tuple[int, dict[str, Any]]:
        raw = self._do("load", lambda: self.client.hget(self.key, provider))
        if raw is None:
            return 0, {}
        doc = json.loads(raw)
        return int(doc["v"]), doc["state"]

    def compare_and_set(self, provider: str, version: int, state: dict[str, Any]) -> bool:
        doc = json.dumps({"v": version + 1, "state": state}, sort_keys=True)
        return bool(self._do("compare-and-set", lambda: self._cas(keys=[self.key], args=[provider, version, doc])))

    def load_all(self) -> dict[str, dict[str, Any]]:
        raw = self._do("load all", lambda: self.client.hgetall(self.key))
        return {(k.decode() if isinstance(k, bytes) else k): json.loads(v)["state"] for k, v in raw.items()}

    def close(self) -> None:
        self.client.close()
