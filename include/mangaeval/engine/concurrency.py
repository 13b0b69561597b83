"""Calls in flight per model, adapted to throttling: additive increase, multiplicative decrease (AIMD).

A model's `concurrency` in quotas.yaml is the ceiling. A call that was throttled (the service said the account's
quota is used up, even if a retry then succeeded) lowers the limit by DECREASE_FACTOR, at most once per
COOL_DOWN_S (the calls in flight when the quota ran out are one event, not new evidence); calls that go through
raise it by INCREASE_PER_S for every second since the last change. The increase is per second, not per call, on
purpose: the service meters requests per minute, so the limit must creep up slowly enough that one throttling event
per minute or two is all it takes to find the quota again (per-call increases made a run at ~6 calls in flight
ride the quota, with ~28% of calls throttled, in benchmarks/shared_quota_bench.py). A run thus settles just under
the quota the service enforces instead of riding retries, and recovers (+1 call in flight per 1/INCREASE_PER_S
seconds) when it is lifted.

`LocalConcurrency` holds the state in the process; `mangaeval.engine.shared_limits.SharedConcurrency` holds it in
Redis, so every worker's calls to a model count against one limit.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

DECREASE_FACTOR = 0.7
INCREASE_PER_S = 0.1
COOL_DOWN_S = 2.0


def adapted(limit: float, ceiling: float, throttled: bool, now: float, updated: float, decreased: float) -> tuple[float, float]:
    """(new limit, new time of the last decrease) after one call's outcome."""
    if throttled:
        if now - decreased >= COOL_DOWN_S:
            return max(1.0, limit * DECREASE_FACTOR), now
        return limit, decreased
    return min(float(ceiling), limit + INCREASE_PER_S * max(0.0, now - updated)), decreased


class LocalConcurrency:
    def __init__(self, ceiling: int, clock: Callable[[], float] = time.monotonic, adaptive: bool = True):
        self.ceiling = int(ceiling)
        self.limit = float(ceiling)
        self.adaptive = adaptive
        self.in_flight = 0
        self._clock = clock
        self._decreased = float("-inf")
        self._updated = clock()
        self._changed = threading.Condition()

    def enter(self) -> tuple[float, None]:
        """Wait for a slot (in flight < floor(limit)); returns (seconds waited, the slot's token for `exit`)."""
        started = self._clock()
        with self._changed:
            while self.in_flight >= max(1, int(self.limit)):
                self._changed.wait(0.05)
            self.in_flight += 1
        return self._clock() - started, None

    def exit(self, token: None, throttled: bool) -> float:
        with self._changed:
            self.in_flight -= 1
            if self.adaptive:
                now = self._clock()
                self.limit, self._decreased = adapted(self.limit, self.ceiling, throttled, now, self._updated, self._decreased)
                self._updated = now
            self._changed.notify_all()
            return self.limit
