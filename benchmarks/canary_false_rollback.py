"""False rollbacks: canary and baseline drawn from the same distribution, N full rollouts (5 -> 25 -> 50 ->
100%, HOLD extensions included) on recommendation at its real volume, through the real judge; prints how many
rolled back, where and why. Target: at most 5% of 200. benchmarks/canary_field_volume.py runs this study with the
others at the field's volume; this script is for larger runs. Usage: canary_false_rollback.py [--rollouts 200]
[--first-seed 10000]"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "include"))

from scipy import stats  # noqa: E402

from mangaeval.canary.demo import run_scenario  # noqa: E402
from mangaeval.canary.policy import load_policy  # noqa: E402
from mangaeval.canary.simulator import same_distribution_scenario  # noqa: E402


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    low = stats.beta.ppf(a, k, n - k + 1) if k else 0.0
    high = stats.beta.ppf(1 - a, k + 1, n - k) if k < n else 1.0
    return float(low), float(high)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rollouts", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=10000)
    args = parser.parse_args(argv)
    policy = load_policy()
    scenario = same_distribution_scenario()
    started = time.perf_counter()
    at_stage, by_metric, holds, completed = Counter(), Counter(), 0, 0
    for seed in range(args.first_seed, args.first_seed + args.rollouts):
        result = run_scenario(scenario, policy, seed)
        holds += sum(look["verdict"] == "HOLD" for o in result["stages"] for look in o.looks)
        final = result["stages"][-1]
        if final.action == "complete":
            completed += 1
            continue
        at_stage[final.stage] += 1
        failed = [n for n, m in final.judgement["metrics"].items() if m["status"] == "fail"] or [final.verdict.lower()]
        by_metric.update(failed)
    elapsed = time.perf_counter() - started
    rolled = args.rollouts - completed
    low, high = clopper_pearson(rolled, args.rollouts)
    print(f"same-distribution rollouts: {args.rollouts} (seeds {args.first_seed}..{args.first_seed + args.rollouts - 1}), "
          f"{elapsed:.1f} s ({1000 * elapsed / args.rollouts:.0f} ms per rollout)")
    print(f"policy: {len(policy.stages)} stages, promotion alpha {policy.alpha}, rollback-side alpha per stage "
          f"{policy.fail_alpha_per_stage}, each stage judged once its sample gives every test power {policy.power:.0%} at "
          f"its margin (at least {policy.min_requests_per_side} requests per side); traffic: {', '.join(scenario.intents)}")
    print(f"false rollbacks: {rolled} / {args.rollouts} = {rolled / args.rollouts:.1%} "
          f"(95% CI {low:.1%} .. {high:.1%}); target <= 5%: {'OK' if rolled / args.rollouts <= 0.05 else 'MISSED'}")
    print(f"  by stage:  {dict(sorted(at_stage.items())) or '-'}")
    print(f"  by metric: {dict(by_metric) or '-'}")
    print(f"completed: {completed}; HOLD looks along the way: {holds} (each extended a window)")
    return 0 if rolled / args.rollouts <= 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
