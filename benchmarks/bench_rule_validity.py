"""The regression rule measured, not assumed (issue 18): over 200 comparisons of two runs drawn from the same latency
distribution at the default sample size, how often does it say REGRESSION (target <= 5%)? And with a true 20% P95
increase, how often is it flagged (target >= 95% of 200)? Also printed: the rates at true +5% and +10% (what "worse
by more than 10%" means in practice).

The latency distribution is the model double's own: for each prompt of the default prompt set (`bench --requests`),
the latency the double reports under SEEDS different seeds (a new seed = a new draw of every jitter and fault, i.e.
another run of the suite). A simulated run takes, for every prompt, the latency of a random seed: a run is exactly
what `mangaeval bench` measures, minus client overhead. A "true X% increase" multiplies every latency by 1+X, which
moves P95 by exactly X.

    python benchmarks/bench_rule_validity.py [--comparisons 200] [--config sonnet-3-5-v2] [--margin 0.0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from mangaeval.bench.prompts import prompt_set  # noqa: E402
from mangaeval.bench.rule import DEFAULT_MARGIN, DEFAULT_THRESHOLD, REGRESSION, judge  # noqa: E402
from mangaeval.bench.runner import DEFAULT_REQUESTS  # noqa: E402

SEEDS = 40


def population(config_id: str, requests: int) -> np.ndarray:
    """latency_ms[prompt, seed] from the double in this process (time scale 0: no waiting)."""
    from mangaeval.double.profiles import load_profiles
    from mangaeval.double.server import ModelDouble
    from mangaeval.models import load_configurations, load_model_catalog
    from mangaeval.prompts import build_request

    catalog = load_model_catalog()
    config = load_configurations(catalog=catalog)[config_id]
    spec = catalog[config.model_id]
    prompts = prompt_set(requests)
    table = np.full((len(prompts), SEEDS), np.nan)
    for s in range(SEEDS):
        double = ModelDouble(load_profiles(), catalog, seed=1000 + s, time_scale=0)
        for i, p in enumerate(prompts):
            body = build_request(config, p.case)
            reply = double.answer(spec.invoke_id, body) if spec.api == "converse" else double.answer_endpoint(spec.endpoint_name, body)
            table[i, s] = getattr(reply, "latency_ms", np.nan)  # a fault: no latency (the suite counts it apart)
    return table


def draw(table: np.ndarray, rng: np.random.Generator) -> tuple[list[float], list[str]]:
    """One run: per prompt, a random seed's latency; (latencies, prompt keys) of the prompts that did not fail."""
    picks = table[np.arange(len(table)), rng.integers(0, table.shape[1], size=len(table))]
    keep = ~np.isnan(picks)
    return list(picks[keep]), [str(i) for i in np.flatnonzero(keep)]


def rate(table: np.ndarray, factor: float, comparisons: int, margin: float, seed: int, paired: bool = True) -> float:
    rng = np.random.default_rng(seed)
    flagged = 0
    for k in range(comparisons):
        (base, bkeys), (cur, ckeys) = draw(table, rng), draw(table, rng)
        cur = [v * factor for v in cur]
        keys = dict(baseline_keys=bkeys, current_keys=ckeys) if paired else {}
        flagged += judge("latency_p95_ms", base, cur, margin=margin, seed=k, **keys).status == REGRESSION
    return flagged / comparisons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comparisons", type=int, default=200)
    parser.add_argument("--config", default="sonnet-3-5-v2")
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="sample size of a run (bench's default)")
    parser.add_argument("--margin", type=float, default=DEFAULT_MARGIN)
    parser.add_argument("--unpaired", action="store_true", help="resample each run on its own (runs over different prompts)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    table = population(args.config, args.requests)
    print(f"rule: REGRESSION when P95 ratio > {1 + DEFAULT_THRESHOLD:.2f} and the 95% bootstrap lower bound > {1 + args.margin:.2f}; "
          f"{args.config}, {args.requests} requests per run, {args.comparisons} comparisons each, "
          f"{'unpaired' if args.unpaired else 'paired by prompt'} bootstrap")
    ok = True
    for factor, label, target in ((1.0, "same distribution (false REGRESSION)", ("<=", 0.05)), (1.05, "true +5% P95", None),
                                  (1.10, "true +10% P95", None), (1.20, "true +20% P95 (power)", (">=", 0.95))):
        r = rate(table, factor, args.comparisons, args.margin, seed=int(factor * 1000), paired=not args.unpaired)
        met = "" if target is None else (" target " + f"{target[0]} {target[1]:.0%}: " +
                                          ("met" if (r <= target[1] if target[0] == "<=" else r >= target[1]) else "NOT MET"))
        ok &= "NOT MET" not in met
        print(f"  {label:<40} flagged {r:6.1%}{met}")
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
