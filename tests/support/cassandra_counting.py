"""A driver-session wrapper that counts requests: proves store calls cost the same at any table size."""

from __future__ import annotations


class CountingSession:
    """Passes everything to the real session, counting the requests sent (sync and async)."""

    def __init__(self, session) -> None:
        self._session, self.requests = session, 0

    def __getattr__(self, attr):
        return getattr(self._session, attr)

    def execute(self, *a, **kw):
        self.requests += 1
        return self._session.execute(*a, **kw)

    def execute_async(self, *a, **kw):
        self.requests += 1
        return self._session.execute_async(*a, **kw)
