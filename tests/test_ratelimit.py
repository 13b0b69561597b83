from __future__ import annotations

import pytest

from mangaeval.engine.ratelimit import ModelRateLimiter, Quota, TokenBucket, load_quotas
from mangaeval.errors import ConfigError


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_bucket_waits_for_refill():
    clock = FakeClock()
    bucket = TokenBucket(60, clock=clock, sleep=clock.sleep)  # 1 per second
    assert sum(bucket.acquire(1) for _ in range(60)) == 0  # a minute's burst
    assert bucket.acquire(1) == pytest.approx(1.0)
    assert bucket.acquire(2) == pytest.approx(2.0)


def test_requests_per_minute_paces_calls():
    clock = FakeClock()
    limiter = ModelRateLimiter(Quota(concurrency=1, requests_per_minute=120, tokens_per_minute=10**9), clock, clock.sleep)
    for _ in range(120 + 60):
        limiter.acquire(10)
    assert clock.now == pytest.approx(30.0)  # 60 calls past the burst at 2/s


def test_tokens_reserved_then_given_back():
    clock = FakeClock()
    limiter = ModelRateLimiter(Quota(1, 10**6, 1000), clock, clock.sleep)
    limiter.acquire(800)
    limiter.settle(800, 100)  # the answer used far fewer tokens than max_tokens reserved
    assert limiter.acquire(800) == 0.0


def test_quota_file_validation(tmp_path):
    path = tmp_path / "quotas.yaml"
    path.write_text("defaults: {concurrency: 0}\nmodels:\n  m1: {rpm: 3}\n")
    with pytest.raises(ConfigError) as err:
        load_quotas(path)
    assert "defaults: 'concurrency' must be a positive number" in str(err.value)
    assert "model 'm1': unknown field(s) ['rpm']" in str(err.value)
