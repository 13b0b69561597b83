"""Calls in flight per model, adapted to throttling: additive increase, multiplicative decrease (AIMD).

A model's `concurrency` in quotas.yaml is the ceiling. A call that was throttled (the service said the account's
quota is used up, even if a retry then succeeded) lowers the limit by DECREASE_FACTOR, at most once per
COOL_DOWN_S (the calls already in flight when the quota ran out are the same event, not new evidence); each call
that went through raises it by INCREASE_STEP / limit (about +INCREASE_STEP per round of `limit` calls). A run thus
settles just under the quota the service enforces instead of riding retries, and recovers when it is lifted.

`LocalConcurrency` holds the state in the process; `mangaeval.engine.shared_limits.SharedConcurrency` holds it in
Redis, so every worker's calls to a model count against one limit.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

DECREASE_FACTOR = 0.7
INCREASE_STEP = 0.5
COOL_DOWN_S = 2.0


def decreased(limit: float) -> float:
    return max(1.0, limit * DECREASE_FACTOR)


def increased(limit: float, ceiling: float) -> float:
    return min(float(ceiling), limit + INCREASE_STEP / max(limit, 1.0))


class LocalConcurrency:
    def __init__(self, ceiling: int, clock: Callable[[], float] = time.monotonic, adaptive: bool = True):
        self.ceiling = int(ceiling)
        self.limit = float(ceiling)
        self.adaptive = adaptive
        self.in_flight = 0
        self._clock = clock
        self._last_decrease = float("-inf")
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
                if throttled and now - self._last_decrease >= COOL_DOWN_S:
                    self.limit, self._last_decrease = decreased(self.limit), now
                elif not throttled:
                    self.limit = increased(self.limit, self.ceiling)
            self._changed.notify_all()
            return self.limit
