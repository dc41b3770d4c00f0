"""Cluster-wide limiter: the same sliding-window log, kept in Redis and decided by one Lua script.

Rate budgets are per egress IP, so with several worker hosts behind one IP each host's own file
would spend the whole budget again. Celery deployments already run Redis; this backend keeps every
api's grant log (a sorted set), its pause and its logical clock there, and a Lua script decides
"grant now or wait N s" atomically (Redis runs one script at a time), so any number of processes on
any number of hosts share one budget and one 429 pause.

Source clock: the Redis server's ``TIME``, the one clock every host shares (host clocks may differ).
It is a wall clock, so the script advances a logical clock by its forward steps only (see ``base``).
Every network call has a bounded timeout (``lock_wait_bound``); a Redis that does not answer raises
``LimiterUnavailable`` naming the Connection to check (nothing is sent upstream).
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

from include.stellar_lineage.ratelimit.base import Budget, LimiterUnavailable, RateLimiter, lock_wait_bound

DEFAULT_PREFIX = "stellar_lineage:ratelimit"
CLOCK_TTL_MS = 24 * 3600 * 1000  # idle this long, the whole state of an api has expired anyway

# KEYS: grants (zset), pause (hash), clock (hash) of one api.  Returns the logical now.
_CLOCK = """
local t = redis.call('TIME')
local source = tonumber(t[1]) + tonumber(t[2]) / 1000000
local c = redis.call('HMGET', KEYS[3], 'logical', 'source')
local now = source
if c[1] and c[2] then
  local step = source - tonumber(c[2])
  if step < 0 then step = 0 end
  now = tonumber(c[1]) + step
end
redis.call('HSET', KEYS[3], 'logical', string.format('%.6f', now), 'source', string.format('%.6f', source))
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[1]))
"""

# ARGV: clock ttl ms, count, window, short count, short window, keep, member.
GRANT = (
    _CLOCK
    + """
local count, window = tonumber(ARGV[2]), tonumber(ARGV[3])
local short_count, short_window = tonumber(ARGV[4]), tonumber(ARGV[5])
local keep = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.6f', now - keep))
local p = redis.call('HMGET', KEYS[2], 'until', 'reason')
if p[1] and tonumber(p[1]) > now then
  return {string.format('%.6f', tonumber(p[1]) - now), 'paused: ' .. (p[2] or '')}
end
local function wait_for(n, w)
  local rows = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '(' .. string.format('%.6f', now - w),
                          'WITHSCORES', 'LIMIT', 0, n)
  if #rows / 2 < n then return 0 end
  return tonumber(rows[#rows]) + w - now + 0.001
end
local wait = math.max(wait_for(count, window), wait_for(short_count, short_window))
if wait > 0 then return {string.format('%.6f', wait), 'budget used'} end
redis.call('ZADD', KEYS[1], string.format('%.6f', now), ARGV[7])
redis.call('PEXPIRE', KEYS[1], math.ceil(keep * 1000))
return {'0', ''}
"""
)

# ARGV: clock ttl ms, seconds, reason.
PAUSE = (
    _CLOCK
    + """
local untl = now + tonumber(ARGV[2])
local old = tonumber(redis.call('HGET', KEYS[2], 'until') or '0')
if old > untl then untl = old end
redis.call('HSET', KEYS[2], 'until', string.format('%.6f', untl), 'reason', ARGV[3])
redis.call('PEXPIRE', KEYS[2], math.ceil((untl - now) * 1000) + 60000)
return string.format('%.6f', untl - now)
"""
)


class RedisRateLimiter(RateLimiter):
    """Limiter state shared through one Redis server (every worker host of a cluster)."""

    scope = "cluster"

    def __init__(
        self,
        rates: Mapping[str, float],
        client: Any,
        *,
        prefix: str = DEFAULT_PREFIX,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(rates, sleep=sleep)
        self.client, self.prefix = client, prefix
        self._grant = client.register_script(GRANT)
        self._pause = client.register_script(PAUSE)
        # Unique grant ids (sorted-set members): host, process, counter.
        self._ids = itertools.count()
        self._me = f"{socket.gethostname()}:{os.getpid()}"

    @classmethod
    def from_url(cls, rates: Mapping[str, float], url: str, **kwargs: Any) -> RedisRateLimiter:
        import redis

        timeout = lock_wait_bound()
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return cls(rates, client, **kwargs)

    def close(self) -> None:
        self.client.close()

    def keys(self, api: str) -> list[str]:
        # One hash tag per api: the three keys land on one slot (Redis Cluster runs the script too).
        base = f"{self.prefix}:{{{api}}}"
        return [f"{base}:grants", f"{base}:pause", f"{base}:clock"]

    def _call(self, script: Any, api: str, args: list[Any]) -> Any:
        import redis

        try:
            return script(keys=self.keys(api), args=[CLOCK_TTL_MS, *args])
        except redis.RedisError as exc:
            raise LimiterUnavailable(
                f"cluster rate limiter: Redis unavailable ({type(exc).__name__}: {exc}). Fix: check the server of "
                f"the Connection named by stellar_lineage_rate_limiter_redis_conn_id, or set "
                f"stellar_lineage_rate_limiter_backend=host on a single machine."
            ) from None

    def _try_grant(self, api: str, budget: Budget) -> tuple[float, str]:
        member = f"{self._me}:{next(self._ids)}"
        args = [budget.count, budget.window, budget.short_count, budget.short_window, budget.keep, member]
        wait, why = self._call(self._grant, api, args)
        why = why.decode() if isinstance(why, bytes) else why
        return float(wait), (why if why != "budget used" else f"{budget.rpm:g}/min cluster budget used")

    def _set_pause(self, api: str, seconds: float, reason: str) -> None:
        self._call(self._pause, api, [seconds, reason[:200]])
