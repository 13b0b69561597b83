"""Per-model client-side quotas: requests/min and tokens/min token buckets."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from mangaeval.errors import ConfigError
from mangaeval.paths import CONFIG_DIR


@dataclass(frozen=True)
class Quota:
    concurrency: int = 8
    requests_per_minute: float = 2000
    tokens_per_minute: float = 4_000_000


def load_quotas(path: Path | None = None) -> tuple[Quota, dict[str, Quota]]:
    path = Path(path or CONFIG_DIR / "quotas.yaml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems: list[str] = []

    def build(spec: dict, where: str, base: Quota) -> Quota:
        merged = {**base.__dict__, **(spec or {})}
        unknown = set(merged) - set(Quota.__dataclass_fields__)
        if unknown:
            problems.append(f"{where}: unknown field(s) {sorted(unknown)}")
            return base
        for name, value in merged.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                problems.append(f"{where}: '{name}' must be a positive number, got {value!r}")
                return base
        return Quota(concurrency=int(merged["concurrency"]), requests_per_minute=float(merged["requests_per_minute"]),
                     tokens_per_minute=float(merged["tokens_per_minute"]))

    default = build(doc.get("defaults") or {}, f"{path}: defaults", Quota())
    per_model = {m: build(spec, f"{path}: model '{m}'", default) for m, spec in (doc.get("models") or {}).items()}
    if problems:
        raise ConfigError(problems)
    return default, per_model


class TokenBucket:
    """Continuous-refill bucket holding at most one minute of allowance."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.capacity = float(per_minute)
        self.rate = float(per_minute) / 60.0
        self.tokens = self.capacity
        self._clock, self._sleep = clock, sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self, amount: float) -> float:
        """Take `amount` (waiting as needed); returns seconds waited. Requests over capacity wait for a full bucket."""
        amount = min(amount, self.capacity)
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self.tokens >= amount:
                    self.tokens -= amount
                    return waited
                wait = (amount - self.tokens) / self.rate
            self._sleep(wait)
            waited += wait

    def give_back(self, amount: float) -> None:
        with self._lock:
            self._refill()
            self.tokens = min(self.capacity, self.tokens + amount)


class ModelRateLimiter:
    """Requests/min and tokens/min for one model."""

    def __init__(self, quota: Quota, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.requests = TokenBucket(quota.requests_per_minute, clock, sleep)
        self.tokens = TokenBucket(quota.tokens_per_minute, clock, sleep)

    def acquire(self, reserved_tokens: int) -> float:
        return self.requests.acquire(1) + self.tokens.acquire(reserved_tokens)

    def settle(self, reserved_tokens: int, used_tokens: int) -> None:
        if used_tokens < reserved_tokens:
            self.tokens.give_back(reserved_tokens - used_tokens)
