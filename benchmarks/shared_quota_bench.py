"""Issue 17 quota targets, with real worker processes, the machine's Redis and the model double over HTTP.

1. Shared quotas: three workers evaluate against one model whose quota is R requests/minute (quotas.yaml's role,
   set here). With the quota in Redis the double must see at most R (+5%) in every wall-clock minute; printed
   beside the same three workers with their own in-process buckets (the baseline: about 3R).
2. Adaptive concurrency: the double enforces R itself (its quota_rpm) while the workers' configured quota is ten
   times too generous; with AIMD on, fewer than 5% of calls are throttled after the first minute. Printed beside
   the same run with adaptation off (the baseline).

Each scenario starts on a wall-clock minute and runs for --minutes (default 2.5); the last minute, which the double
saw only partly, is shown but not judged for the shared quota.

Usage: python benchmarks/shared_quota_bench.py [--minutes 2.5] [--rpm 600] [--redis redis://127.0.0.1:6379/14]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
import urllib.request
import uuid

from mangaeval.double.server import DoubleProcess

MODEL_CONFIG = "sonnet-3-5-v2"  # ~1.2 s a call, as the field reports: about R/60 x 1.2 calls in flight at the quota
WORKERS = 3
NO_ERRORS = ["throttle_rate=0", "timeout_rate=0", "unavailable_rate=0", "model_error_rate=0", "internal_error_rate=0",
             "cold_start_calls=0", "guardrail_rate=0", "content_filter_rate=0", "stream_error_rate=0"]


def worker(url: str, redis_url: str | None, rpm: float, ceiling: int, adaptive: bool, seconds: float, tag: str, out) -> None:
    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.engine import EngineSettings, EvaluationEngine
    from mangaeval.engine.ratelimit import Quota
    from mangaeval.golden import load_dataset
    from mangaeval.models import load_configurations, load_model_catalog

    config = load_configurations()[MODEL_CONFIG]
    settings = EngineSettings.from_files(use_cache=False, shared_quota_url=redis_url, adaptive_concurrency=adaptive)
    settings.quotas = {config.model_id: Quota(concurrency=ceiling, requests_per_minute=rpm, tokens_per_minute=1e9)}
    engine = EvaluationEngine(BedrockClient(ClientSettings(endpoint_url=url)), load_model_catalog(), settings)
    cases = load_dataset("v1").cases
    deadline, batch, rows, throttled = time.time() + seconds, 0, 0, 0
    while time.time() < deadline:
        chunk = [cases[(batch * 200 + i) % len(cases)] for i in range(200)]
        frame, stats = engine.evaluate([config], chunk, run_id=f"{tag}-{batch}", dataset_version="v1")
        rows, throttled, batch = rows + len(frame), throttled + stats.throttled, batch + 1
    out.put({"rows": rows, "throttled": throttled})


def per_minute(url: str) -> dict[str, dict[str, int]]:
    with urllib.request.urlopen(f"{url}/_double/stats") as response:
        stats = json.loads(response.read())
    return next(iter(stats["per_minute"].values()), {})


def scenario(name: str, *, redis_url: str | None, client_rpm: float, double_rpm: float, ceiling: int, adaptive: bool,
             minutes: float) -> dict[str, dict[str, int]]:
    overrides = NO_ERRORS + [f"quota_rpm={double_rpm}"]
    with DoubleProcess(seed=3, time_scale=1.0, overrides=overrides) as double:
        time.sleep(60 - time.time() % 60)  # start on a wall-clock minute: the double's minute 1 is the run's first minute
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        tag = uuid.uuid4().hex[:6]
        procs = [context.Process(target=worker, args=(double.url, redis_url, client_rpm, ceiling, adaptive, minutes * 60, f"{tag}{i}", queue))
                 for i in range(WORKERS)]
        for p in procs:
            p.start()
        results = [queue.get(timeout=minutes * 60 + 600) for _ in procs]
        for p in procs:
            p.join()
        minutes_seen = per_minute(double.url)
    print(f"\n{name}: {sum(r['rows'] for r in results)} rows from {WORKERS} workers")
    return minutes_seen


def judged(minutes_seen: dict[str, dict[str, int]]) -> list[tuple[str, dict[str, int]]]:
    keys = sorted(minutes_seen, key=int)
    return [(k, minutes_seen[k]) for k in keys[:-1]]  # whole minutes only


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.5)
    parser.add_argument("--rpm", type=float, default=600)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--only", choices=["shared", "adaptive"], help="run one of the two targets (both by default)")
    args = parser.parse_args()
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    r = args.rpm
    print(f"quota R = {r:.0f} requests/minute on one model; {WORKERS} worker processes; {args.minutes} minutes per scenario")

    if args.only != "adaptive":
        shared_quota_target(args, r)
    if args.only != "shared":
        adaptive_target(args, r)
    return 0


def shared_quota_target(args, r: float) -> None:
    shared = scenario("1. shared quota (Redis)", redis_url=args.redis, client_rpm=r, double_rpm=0, ceiling=16, adaptive=True, minutes=args.minutes)
    local = scenario("1b. baseline: each worker's own bucket", redis_url=None, client_rpm=r, double_rpm=0, ceiling=16, adaptive=True,
                     minutes=args.minutes)
    print(f"{'minute':>10} {'shared: served':>15} {'/ R':>6} {'own buckets: served':>20} {'/ R':>6}")
    worst = 0.0
    for (k, s), (_, l) in zip(judged(shared), judged(local)):
        worst = max(worst, s["served"] / r)
        print(f"{k:>10} {s['served']:>15} {s['served'] / r:>6.2f} {l['served']:>20} {l['served'] / r:>6.2f}")
    for k, s in judged(shared)[len(judged(local)):]:
        worst = max(worst, s["served"] / r)
        print(f"{k:>10} {s['served']:>15} {s['served'] / r:>6.2f}")
    print(f"shared quota: the worst whole minute saw {worst:.3f} R (target <= 1.05 R)")


def adaptive_target(args, r: float) -> None:
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    adaptive = scenario("2. adaptive concurrency against the double's quota", redis_url=args.redis, client_rpm=10 * r, double_rpm=r,
                        ceiling=32, adaptive=True, minutes=args.minutes)
    redis.Redis.from_url(args.redis).flushdb()
    fixed = scenario("2b. baseline: fixed concurrency", redis_url=args.redis, client_rpm=10 * r, double_rpm=r, ceiling=32, adaptive=False,
                     minutes=args.minutes)
    for label, seen in (("adaptive", adaptive), ("fixed", fixed)):
        keys = sorted(seen, key=int)
        print(f"{label}: per minute (served/throttled): " + ", ".join(f"{seen[k]['served']}/{seen[k]['throttled']}" for k in keys))
        after = [seen[k] for k in keys[1:]]
        served, refused = sum(m["served"] for m in after), sum(m["throttled"] for m in after)
        print(f"{label}: after the first minute {refused} of {served + refused} calls throttled = "
              f"{refused / max(1, served + refused):.1%} (target < 5% with adaptation); served {served / max(1, len(after)):.0f}/minute vs R {r:.0f}")


if __name__ == "__main__":
    sys.exit(main())
