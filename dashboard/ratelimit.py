"""Per-key token buckets: cheap enough for the feed's hot path (a dict lookup and some arithmetic)."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """``rate`` requests per second on average, bursts of up to ``burst``; one bucket per key."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str) -> bool:
        """Take one token from ``key``'s bucket; False if it is empty."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 100_000:
            self._evict(now)
        return True

    def available(self, key: str) -> bool:
        """Whether ``key``'s bucket holds a token, without taking one (a check before an attempt that may fail)."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate) >= 1.0

    def retry_after(self, key: str) -> float:
        tokens, _ = self._buckets.get(key, (self.burst, 0.0))
        return max(0.0, (1.0 - tokens) / self.rate)

    def _evict(self, now: float) -> None:
        # Keys whose bucket has refilled hold no information; drop them so unauthenticated noise cannot grow memory.
        full = [k for k, (tokens, last) in self._buckets.items() if tokens + (now - last) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]
