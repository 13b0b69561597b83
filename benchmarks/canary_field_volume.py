"""The canary at the traffic it really gets: 1M messages a day, the intent mix of intents.yaml, the stages, windows
and maximum times of canary.yaml, each stage extended until it holds the sample its tests need for their power.

Prints, and checks against the targets:
- per intent (recommendation, order_tracking, chitchat, return_request): the plan (canary requests per window, the
  sample needed, the expected duration and what each test can detect there) and simulated rollouts of a candidate
  like its baseline (time to a full rollout, the detectable drop per stage at the sample reached);
- recommendation: false rollbacks over N same-distribution rollouts (target <= 5%) and how often a 6% quality
  drop is rolled back (target >= 95%);
- the four field scenarios (a-d) on recommendation at its real volume, each over several seeds.
Usage: canary_field_volume.py [--rollouts 200] [--per-intent 20] [--scenario-seeds 10] [--first-seed 10000]"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "include"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from canary_false_rollback import clopper_pearson  # noqa: E402

from mangaeval.canary.demo import run_scenario  # noqa: E402
from mangaeval.canary.policy import load_policy  # noqa: E402
from mangaeval.canary.schedule import schedule_lines, stage_schedule  # noqa: E402
from mangaeval.canary.simulator import BASELINE, SCENARIOS, Scenario, same_distribution_scenario  # noqa: E402
from mangaeval.traffic import messages_per_day  # noqa: E402

INTENTS = ("recommendation", "order_tracking", "chitchat", "return_request")
# What each field scenario must end as (MISSION's field figures; docs/canary.md).
SCENARIO_TARGETS = {"a": "completed", "b": "rolled back at stage 1", "c": "rolled back at stage 1", "d": "completed"}


def hours(minutes: float) -> str:
    return f"{minutes / 60:.1f} h"


def rollout_minutes(result: dict) -> float:
    return sum(o.looks[-1]["minutes"] for o in result["stages"])


def failing(outcome) -> str:
    failed = [n for n, m in outcome.judgement["metrics"].items() if m["status"] == "fail"]
    return "+".join(failed) if failed else f"{outcome.verdict} at the stage's maximum"


def rollouts(scenario: Scenario, policy, seeds: range) -> list[dict]:
    return [run_scenario(scenario, policy, seed) for seed in seeds]


def detectable_line(results: list[dict], stage: int) -> str:
    reached = [r["stages"][stage - 1] for r in results if len(r["stages"]) >= stage]
    if not reached:
        return "-"
    tests = [o.judgement["samples"]["power"]["tests"] for o in reached]

    def median(name: str) -> float:
        return statistics.median(t[name]["detectable"] for t in tests)

    n = statistics.median(o.judgement["samples"]["canary_requests"] for o in reached)
    minutes = statistics.median(o.looks[-1]["minutes"] for o in reached)
    return (f"stage {stage}: {minutes:>5.0f} min, {n:>6,.0f} canary requests; detects a quality drop of {median('quality'):.1%}, "
            f"a P95 ratio of {median('latency'):.2f}, an error rate of {median('error_rate'):.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rollouts", type=int, default=200, help="recommendation rollouts per study (default 200)")
    parser.add_argument("--per-intent", type=int, default=20, help="simulated healthy rollouts per other intent (default 20)")
    parser.add_argument("--scenario-seeds", type=int, default=10, help="seeds per field scenario (default 10)")
    parser.add_argument("--first-seed", type=int, default=10000)
    args = parser.parse_args(argv)
    policy = load_policy()
    started = time.perf_counter()
    ok = True
    print(f"volume: {messages_per_day():,.0f} messages/day, the intent mix of intents.yaml; stages "
          f"{' -> '.join(f'{s.traffic_pct:g}%' for s in policy.stages)}, windows {'/'.join(f'{s.window_minutes:g}' for s in policy.stages)} min, "
          f"extensions of {policy.extension_minutes:g} min up to {'/'.join(f'{s.max_minutes:g}' for s in policy.stages)} min; "
          f"power {policy.power:.0%} at the margins, floor {policy.min_requests_per_side} requests per side")

    # 1. The plan per intent, and simulated healthy rollouts.
    for intent in INTENTS:
        print()
        print("\n".join(schedule_lines(stage_schedule(policy, [intent]))))
        if intent == "recommendation":
            continue  # its rollouts are the false-rollback study below
        healthy = rollouts(same_distribution_scenario(f"healthy-{intent}", (intent,)), policy,
                           range(args.first_seed, args.first_seed + args.per_intent))
        done = [r for r in healthy if r["result"] == "completed"]
        spans = [rollout_minutes(r) for r in done]
        print(f"simulated: {len(done)}/{len(healthy)} healthy rollouts completed; time to a full rollout median "
              f"{hours(statistics.median(spans)) if spans else '-'} (range {hours(min(spans)) if spans else '-'} .. {hours(max(spans)) if spans else '-'})")
        for stage in range(1, len(policy.stages) + 1):
            print(f"  {detectable_line(healthy, stage)}")

    # 2. recommendation: false rollbacks, and the power to roll back a 6% quality drop.
    seeds = range(args.first_seed, args.first_seed + args.rollouts)
    null = rollouts(same_distribution_scenario("null"), policy, seeds)
    rolled = [r for r in null if r["result"] != "completed"]
    low, high = clopper_pearson(len(rolled), len(null))
    rate = len(rolled) / len(null)
    spans = [rollout_minutes(r) for r in null if r["result"] == "completed"]
    print(f"\nrecommendation, candidate like its baseline: {len(null)} rollouts")
    print(f"  false rollbacks: {len(rolled)} / {len(null)} = {rate:.1%} (95% CI {low:.1%} .. {high:.1%}); target <= 5%: "
          f"{'OK' if rate <= 0.05 else 'MISSED'}")
    print(f"  by stage: {dict(sorted(Counter(r['stages'][-1].stage for r in rolled).items())) or '-'}; "
          f"by metric: {dict(Counter(failing(r['stages'][-1]) for r in rolled)) or '-'}")
    print(f"  time to a full rollout: median {hours(statistics.median(spans))} (range {hours(min(spans))} .. {hours(max(spans))})")
    for stage in range(1, len(policy.stages) + 1):
        print(f"  {detectable_line(null, stage)}")
    ok &= rate <= 0.05

    drop = Scenario("drop-6pct", "quality 6% below baseline", BASELINE,
                    replace(BASELINE, config_id="candidate", quality_mean=BASELINE.quality_mean * 0.94))
    bad = rollouts(drop, policy, seeds)
    caught = [r for r in bad if r["result"] != "completed"]
    power = len(caught) / len(bad)
    low, high = clopper_pearson(len(caught), len(bad))
    print(f"\nrecommendation, candidate 6% below baseline (quality {BASELINE.quality_mean * 0.94:.3f} vs {BASELINE.quality_mean:.3f}): "
          f"{len(bad)} rollouts")
    print(f"  rolled back: {len(caught)} / {len(bad)} = {power:.1%} (95% CI {low:.1%} .. {high:.1%}); target >= 95%: "
          f"{'OK' if power >= 0.95 else 'MISSED'}")
    print(f"  by stage: {dict(sorted(Counter(r['stages'][-1].stage for r in caught).items()))}; "
          f"by reason: {dict(Counter(failing(r['stages'][-1]) for r in caught))}")
    if caught:
        minutes = [rollout_minutes(r) for r in caught]
        exposed = [sum(o.judgement['samples'].get('canary_requests', 0) for o in r["stages"]) for r in caught]
        print(f"  time to the rollback: median {statistics.median(minutes):.0f} min (range {min(minutes):.0f} .. {max(minutes):.0f}); "
              f"users served by the candidate before it: median {statistics.median(exposed):,.0f}")
    ok &= power >= 0.95

    # 3. The field scenarios at recommendation's real volume.
    print(f"\nfield scenarios on recommendation at its real volume ({args.scenario_seeds} seeds each):")
    for name, target in SCENARIO_TARGETS.items():
        results = rollouts(SCENARIOS[name], policy, range(1, 1 + args.scenario_seeds))
        hits = sum(r["result"] == target for r in results)
        first = results[0]
        verdicts = " -> ".join(f"{o.traffic_pct:g}% {o.verdict} ({o.looks[-1]['minutes']:g} min)" for o in first["stages"])
        why = "" if first["result"] == "completed" else f"; why: {first['stages'][-1].reasons[0][:110]}"
        print(f"  ({name}) {SCENARIOS[name].title}: {hits}/{len(results)} {target} (target: all); seed 1: {verdicts}{why}")
        ok &= hits == len(results)
    print(f"\n{time.perf_counter() - started:.0f} s in all; targets {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
