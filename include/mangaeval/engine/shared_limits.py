"""Per-model quotas held in Redis, so that every worker's calls count against one budget.

With several Airflow workers each running evaluate tasks, in-process buckets let N workers send N times the
quota. Here the requests/min and tokens/min buckets and the calls-in-flight limit live in Redis (which the
deployment already runs as Celery's broker) and change only inside Lua scripts, so check-and-take is atomic
across workers; the clock is Redis's own (TIME), so workers' clocks need not agree.

- Buckets refill continuously and hold at most BURST_S seconds' worth (not a whole minute, which would let a
  fresh bucket pass 2R in its first minute): any 60 s then sees at most R * (60 + BURST_S) / 60 requests.
- Calls in flight are leases in a sorted set, each expiring after LEASE_S (a worker killed mid-call frees its
  slot then); the AIMD limit (mangaeval.engine.concurrency) is one shared number per model.

Enabled by MANGAEVAL_QUOTA_REDIS_URL (e.g. redis://redis:6379/2); without it the quotas are the process's own.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any, Callable

from mangaeval.engine.concurrency import COOL_DOWN_S, DECREASE_FACTOR, INCREASE_PER_S
from mangaeval.engine.ratelimit import Quota
from mangaeval.errors import MangaEvalError

BURST_S = 3.0
LEASE_S = 300.0
POLL_S = 0.02
PREFIX = "mangaeval:quota"

# KEYS[1] bucket hash; ARGV: capacity, refill per second, amount. Takes `amount` and returns 0, or returns the
# milliseconds until it would be there (taking nothing).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local capacity, rate, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or capacity
local updated = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local wait_ms = 0
if tokens >= amount then tokens = tokens - amount else wait_ms = math.ceil((amount - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 60000)
return wait_ms
"""
# KEYS[1] bucket hash; ARGV: capacity, refill per second, amount to give back.
_GIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local capacity, rate, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or capacity
local updated = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate + amount)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
return 0
"""
# KEYS[1] leases (sorted set: lease id -> expiry), KEYS[2] limit hash; ARGV: ceiling, lease id, lease seconds.
_ENTER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit')) or tonumber(ARGV[1])
if redis.call('ZCARD', KEYS[1]) < math.max(1, math.floor(limit)) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 60)
  return 1
end
return 0
"""
# KEYS[1] leases, KEYS[2] limit hash; ARGV: lease id, throttled (0/1), ceiling, factor, increase per second,
# cool-down seconds. The same rule as concurrency.adapted, on the shared state.
_EXIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
redis.call('ZREM', KEYS[1], ARGV[1])
local ceiling = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[2], 'limit', 'updated', 'decreased')
local limit = tonumber(state[1]) or ceiling
local updated = tonumber(state[2]) or now
local decreased = tonumber(state[3]) or 0
if ARGV[2] == '1' then
  if now - decreased >= tonumber(ARGV[6]) then
    limit = math.max(1, limit * tonumber(ARGV[4]))
    decreased = now
  end
else
  limit = math.min(ceiling, limit + tonumber(ARGV[5]) * math.max(0, now - updated))
end
redis.call('HSET', KEYS[2], 'limit', tostring(limit), 'updated', tostring(now), 'decreased', tostring(decreased))
redis.call('EXPIRE', KEYS[2], 86400)
return tostring(limit)
"""


def redis_client(url: str) -> Any:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise MangaEvalError(f"MANGAEVAL_QUOTA_REDIS_URL {url}: cannot reach Redis for the shared quotas ({exc})") from None
    return client


def shared_quota_url() -> str | None:
    return os.environ.get("MANGAEVAL_QUOTA_REDIS_URL") or None


class SharedBucket:
    def __init__(self, client: Any, key: str, per_minute: float, sleep: Callable[[float], None] = time.sleep):
        self.key = key
        self.rate = float(per_minute) / 60.0
        self.capacity = max(1.0, self.rate * BURST_S)
        self._take, self._give = client.register_script(_TAKE), client.register_script(_GIVE)
        self._sleep = sleep

    def acquire(self, amount: float) -> float:
        amount = min(float(amount), self.capacity)  # a request larger than the burst waits for a full bucket
        waited = 0.0
        while (wait_ms := int(self._take(keys=[self.key], args=[self.capacity, self.rate, amount]))) > 0:
            self._sleep(wait_ms / 1000.0)
            waited += wait_ms / 1000.0
        return waited

    def give_back(self, amount: float) -> None:
        self._give(keys=[self.key], args=[self.capacity, self.rate, float(amount)])


class SharedRateLimiter:
    """Requests/min and tokens/min for one model, across workers (same interface as ratelimit.ModelRateLimiter)."""

    def __init__(self, client: Any, model_id: str, quota: Quota):
        self.requests = SharedBucket(client, f"{PREFIX}:{model_id}:requests", quota.requests_per_minute)
        self.tokens = SharedBucket(client, f"{PREFIX}:{model_id}:tokens", quota.tokens_per_minute)

    def acquire(self, reserved_tokens: int) -> float:
        return self.requests.acquire(1) + self.tokens.acquire(reserved_tokens)

    def settle(self, reserved_tokens: int, used_tokens: int) -> None:
        if used_tokens < reserved_tokens:
            self.tokens.give_back(reserved_tokens - used_tokens)


class SharedConcurrency:
    """Calls in flight for one model across workers, with the shared AIMD limit (same interface as LocalConcurrency)."""

    def __init__(self, client: Any, model_id: str, ceiling: int, adaptive: bool = True, sleep: Callable[[float], None] = time.sleep):
        self.ceiling = int(ceiling)
        self.adaptive = adaptive
        self.leases, self.state = f"{PREFIX}:{model_id}:leases", f"{PREFIX}:{model_id}:concurrency"
        self._enter, self._exit = client.register_script(_ENTER), client.register_script(_EXIT)
        self._sleep = sleep
        self._mine: list[str] = []

    def enter(self) -> tuple[float, str]:
        started = time.monotonic()
        lease = uuid.uuid4().hex
        while not int(self._enter(keys=[self.leases, self.state], args=[self.ceiling, lease, LEASE_S])):
            self._sleep(POLL_S)
        return time.monotonic() - started, lease

    def exit(self, lease: str, throttled: bool) -> float:
        step = INCREASE_PER_S if self.adaptive else 0.0
        factor = DECREASE_FACTOR if self.adaptive else 1.0
        return float(self._exit(keys=[self.leases, self.state], args=[lease, "1" if throttled else "0", self.ceiling, factor, step, COOL_DOWN_S]))
