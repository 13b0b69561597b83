"""Quotas held by all workers together (Redis) and calls in flight adapted to throttling (AIMD), against the machine's
real Redis and the model double's imitation of the account quota."""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid

import pytest

from mangaeval.double.quota import QuotaMeter
from mangaeval.engine.concurrency import COOL_DOWN_S, DECREASE_FACTOR, INCREASE_PER_S, LocalConcurrency
from mangaeval.engine.ratelimit import Quota

REDIS_URL = os.environ.get("MANGAEVAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="module")
def redis_url():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}): the shared quotas need one")
    return REDIS_URL


def _hammer(url: str, model: str, rpm: float, seconds: float, out) -> None:
    from mangaeval.engine.shared_limits import SharedRateLimiter, redis_client

    limiter = SharedRateLimiter(redis_client(url), model, Quota(concurrency=8, requests_per_minute=rpm, tokens_per_minute=1e9))
    stamps, deadline = [], time.time() + seconds
    while time.time() < deadline:
        limiter.acquire(10)
        stamps.append(time.time())
    out.put(stamps)


def test_three_workers_share_one_requests_per_minute_budget(redis_url):
    from mangaeval.engine.shared_limits import BURST_S

    model, rpm, seconds = f"model-{uuid.uuid4().hex[:8]}", 600.0, 4.0  # 10 requests/s for all three together
    queue = multiprocessing.get_context("spawn").Queue()
    workers = [multiprocessing.get_context("spawn").Process(target=_hammer, args=(redis_url, model, rpm, seconds, queue)) for _ in range(3)]
    for w in workers:
        w.start()
    stamps = sorted(s for _ in workers for s in queue.get(timeout=60))
    for w in workers:
        w.join(timeout=30)
    span = stamps[-1] - stamps[0]
    allowed = rpm / 60.0 * (span + BURST_S) + 1  # the burst, then the refill
    assert len(stamps) <= allowed, (len(stamps), allowed)
    assert len(stamps) >= 0.8 * rpm / 60.0 * span  # and the budget is used, not starved
    for w in workers:
        assert w.exitcode == 0


def test_shared_calls_in_flight_and_the_aimd_limit(redis_url):
    from mangaeval.engine.shared_limits import SharedConcurrency, redis_client

    client = redis_client(redis_url)
    model = f"model-{uuid.uuid4().hex[:8]}"
    one, other = SharedConcurrency(client, model, ceiling=4), SharedConcurrency(client, model, ceiling=4)  # two workers
    leases = [one.enter()[1], one.enter()[1], other.enter()[1], other.enter()[1]]
    started = time.monotonic()
    limit = one.exit(leases.pop(), throttled=True)  # a throttled call: the limit drops, three still in flight
    assert limit == pytest.approx(4 * DECREASE_FACTOR)
    assert other.exit(leases.pop(), throttled=True) == pytest.approx(limit)  # the same event: within the cool-down
    assert int(client.zcard(one.leases)) == 2
    while int(client.zcard(one.leases)) < int(limit):  # up to floor(limit) in flight, across both workers
        leases.append(_enter_within(other, 5))
    with pytest.raises(TimeoutError):  # one more waits
        _enter_within(other, 0.3)
    time.sleep(0.5)
    new_limit = one.exit(leases.pop(), throttled=False)  # a call went through: +INCREASE_PER_S per second since the last change
    assert limit < new_limit <= limit + INCREASE_PER_S * (time.monotonic() - started) + 1e-6


def _enter_within(gate, seconds: float):
    import threading

    done = threading.Event()
    result = {}

    def run():
        result["lease"] = gate.enter()[1]
        done.set()

    threading.Thread(target=run, daemon=True).start()
    if not done.wait(seconds):
        raise TimeoutError
    return result["lease"]


def test_local_aimd_decreases_once_per_cool_down_and_recovers_per_second():
    now = [0.0]
    gate = LocalConcurrency(8, clock=lambda: now[0])
    for _ in range(3):
        gate.enter()
    gate.exit(None, True)
    gate.exit(None, True)  # the same throttling event
    assert gate.limit == pytest.approx(8 * DECREASE_FACTOR)
    now[0] += COOL_DOWN_S
    gate.exit(None, True)
    assert gate.limit == pytest.approx(8 * DECREASE_FACTOR ** 2)
    for _ in range(50):  # many calls in the same instant add nothing: the increase is per second
        gate.enter()
        gate.exit(None, False)
    assert gate.limit == pytest.approx(8 * DECREASE_FACTOR ** 2)
    now[0] += 10
    gate.enter()
    gate.exit(None, False)
    assert gate.limit == pytest.approx(8 * DECREASE_FACTOR ** 2 + 10 * INCREASE_PER_S)
    now[0] += 3600
    gate.enter()
    gate.exit(None, False)
    assert gate.limit == 8  # back to the ceiling, never above
    fixed = LocalConcurrency(8, adaptive=False)
    fixed.enter()
    fixed.exit(None, True)
    assert fixed.limit == 8


def test_the_double_refuses_requests_over_its_quota_and_counts_per_minute():
    now = [120.0]
    meter = QuotaMeter(clock=lambda: now[0])
    served = sum(meter.admit("m", 60) for _ in range(20))  # 60/min holds a 5 s burst: 5 pass at once
    assert served == 5
    now[0] += 1.0
    assert meter.admit("m", 60) and not meter.admit("m", 60)  # one more per second
    assert meter.snapshot()["m"]["2"] == {"served": 6, "throttled": 16}
    assert all(meter.admit("other", 0) for _ in range(100))  # no quota set: never refused


@pytest.mark.integration
def test_adaptive_concurrency_settles_under_the_doubles_quota():
    """An engine whose quotas.yaml is too generous meets the double's real quota: it lowers its calls in flight."""
    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.engine import EngineSettings, EvaluationEngine
    from mangaeval.golden import load_dataset
    from mangaeval.models import load_configurations, load_model_catalog
    from tests.conftest import running_double

    cases = load_dataset("v0").cases[:120]
    with running_double(time_scale=0.02, throttle_rate=0, timeout_rate=0, unavailable_rate=0, model_error_rate=0, quota_rpm=1200) as double:
        settings = EngineSettings.from_files(use_cache=False, concurrency_override=16, shared_quota_url=None)
        engine = EvaluationEngine(BedrockClient(ClientSettings(endpoint_url=double.url), seed=1), load_model_catalog(), settings)
        frame, stats = engine.evaluate([load_configurations()["nova-lite"]], cases, run_id="aimd", dataset_version="v0")
    assert set(frame.loc[frame["status"] != "ok", "error_code"]) <= {"ThrottlingException"}  # retries may run out under load
    assert stats.throttled > 0  # it met the quota ...
    gate = engine._gates[load_configurations()["nova-lite"].model_id]
    assert gate.limit < 16  # ... and lowered its calls in flight
