"""The account quota the real service enforces, imitated: requests per minute per model, refused with the real
ThrottlingException once used up. Off unless a profile sets `quota_rpm` (> 0).

Bedrock does not document how it meters a per-minute quota; the double uses a refilling bucket (R per minute,
holding at most `QUOTA_BURST_S` seconds' worth), so a client sending just under R is never refused and one sending
over R is refused for the excess, within seconds. It also counts what it served and refused per model and per
wall-clock minute (`GET /_double/stats` -> "per_minute"), which is how the quota benchmarks read what the
service saw.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Callable

QUOTA_BURST_S = 5.0


class QuotaMeter:
    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # model -> (tokens, updated)
        self.per_minute: dict[str, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: {"served": 0, "throttled": 0}))

    def admit(self, model_id: str, rpm: float) -> bool:
        """Count one request to `model_id`; False when its quota of `rpm` requests/minute is used up (0: no quota)."""
        now = self._clock()
        with self._lock:
            admitted = True
            if rpm > 0:
                capacity = max(1.0, rpm * QUOTA_BURST_S / 60.0)
                tokens, updated = self._buckets.get(model_id, (capacity, now))
                tokens = min(capacity, tokens + (now - updated) * rpm / 60.0)
                admitted = tokens >= 1.0
                self._buckets[model_id] = (tokens - 1.0 if admitted else tokens, now)
            self.per_minute[model_id][int(now // 60)]["served" if admitted else "throttled"] += 1
            return admitted

    def snapshot(self) -> dict[str, dict[str, dict[str, int]]]:
        with self._lock:
            return {m: {str(minute): dict(c) for minute, c in sorted(by.items())} for m, by in self.per_minute.items()}

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self.per_minute.clear()
