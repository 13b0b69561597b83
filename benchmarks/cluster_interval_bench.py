"""Cluster-aware intervals on planted duplicates (issue 16 target).

Target: "On a dataset with planted duplicates, the cluster-aware interval is as wide as the interval on the
deduplicated data (within 10%), where the naive one is not."

1. Dataset v1 deduplicated: per intent, the first case of each cluster (mangaeval.clusters: cases sharing a normalised
   query are one cluster), 836 distinct cases.
2. Real scores: sonnet-3-5-v2, sonnet-4-5 and haiku-3-5 answer them through the real engine and the model double
   over HTTP, and the scorer scores the answers.
3. Duplicates planted: each distinct case appears k times (a new test_id, the same cluster and the same answer, as a
   duplicate case in a dataset gets). Three plantings:
   - `even`: k = 3 for every case (a check: by clusters equals the deduplicated interval exactly);
   - `uneven` (the target's): k uniform in 1..3 per case (twice as many rows as distinct cases);
   - `v1-like`: k drawn from v1's own cluster sizes of that intent (recommendation: up to 34 copies of a phrasing).
4. Per intent x configuration, three widths of each interval: on the deduplicated data (each case its own cluster),
   on the planted data naively (each row independent), on the planted data by clusters, and the ratios to the
   deduplicated width:
   - mean quality: the mart's interval, mean +- 1.96 * SE (CR1 by clusters; s/sqrt(n) naive), before the mart cuts it
     to [0, 1];
   - pass rate: the mart's Wilson interval (on the effective number of cases by clusters; on n naive);
   - the paired difference (sonnet-4-5 - sonnet-3-5-v2, haiku-3-5 - sonnet-3-5-v2): mean - lower 95% bound
     (t on G-1 degrees of freedom by clusters, on n-1 naive): what the non-inferiority test reads.
   Medians over 20 planting seeds, so one lucky draw does not make the figure.

A planted dataset's mean is weighted by the copies, so its honest standard error is the deduplicated one times
sqrt(G * sum k^2 / (sum k)^2) (Kish's design effect of unequal weights): 1 for even planting, 1.08 for k in 1..3,
more for v1-like planting. Beside each ratio the benchmark prints that ratio (`kish_ratio`, an expectation under equal
spread in every cluster): the cluster-aware interval follows it; the target's 10% holds where the planting is uneven
but not extreme.

Usage: python benchmarks/cluster_interval_bench.py [--seeds 20] [--all-tables] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mangaeval.bedrock import BedrockClient, ClientSettings  # noqa: E402
from mangaeval.cluster_stats import cluster_bootstrap_ci, normal_interval, paired_lower_bound, wilson_interval  # noqa: E402
from mangaeval.clusters import cluster_id  # noqa: E402
from mangaeval.double.server import DoubleProcess  # noqa: E402
from mangaeval.engine import EngineSettings, EvaluationEngine  # noqa: E402
from mangaeval.golden import load_dataset  # noqa: E402
from mangaeval.models import load_configurations, load_model_catalog  # noqa: E402
from mangaeval.scoring import Scorer  # noqa: E402

REFERENCE, CONFIGS = "sonnet-3-5-v2", ("sonnet-3-5-v2", "sonnet-4-5", "haiku-3-5")
TOLERANCE = 0.10


def deduplicated_scores(version: str) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    """Scores of the three configurations on the first case of each cluster, and v1's cluster sizes per intent."""
    dataset = load_dataset(version)
    first, sizes = {}, {}
    for case in dataset.cases:
        key = (case.intent, cluster_id(case))
        first.setdefault(key, case)
        sizes[key] = sizes.get(key, 0) + 1
    cases = list(first.values())
    catalog = load_model_catalog()
    configs = load_configurations(None, catalog)
    with DoubleProcess(seed=0, time_scale=0.0) as double, tempfile.TemporaryDirectory() as tmp:
        client = BedrockClient(ClientSettings.from_env(endpoint_url=double.url))
        engine = EvaluationEngine(client, catalog, EngineSettings.from_files(use_cache=False, cache_dir=Path(tmp), concurrency_override=16))
        frame, stats = engine.evaluate([configs[c] for c in CONFIGS], cases, run_id="cluster-bench", dataset_version=dataset.version)
    frame = Scorer().score_frame(frame, cases)
    frame = frame[frame["status"] == "ok"]
    scores = pd.DataFrame({"intent": frame["intent"].astype(str), "config_id": frame["config_id"].astype(str),
                           "cluster_id": frame["cluster_id"].astype(str), "quality": frame["quality_score"].astype("float64"),
                           "passed": frame["passed"].astype(bool).astype("float64")})
    by_intent: dict[str, list[int]] = {}
    for (intent, _), size in sizes.items():
        by_intent.setdefault(intent, []).append(size)
    return scores, by_intent


def plant(scores: pd.DataFrame, copies: dict[tuple[str, str], int]) -> pd.DataFrame:
    """Each (intent, cluster)'s rows repeated `copies` times: duplicates of a case, same cluster, same answer."""
    k = np.array([copies[(i, c)] for i, c in zip(scores["intent"], scores["cluster_id"])])
    return scores.loc[scores.index.repeat(k)].reset_index(drop=True)


def widths(group: pd.DataFrame, by_clusters: bool) -> dict[str, float | None]:
    clusters = group["cluster_id"].to_numpy(dtype=object) if by_clusters else None
    q = normal_interval(group["quality"].to_numpy(), clusters, bounds=None)  # uncut: the width the data supports
    p = wilson_interval(group["passed"].to_numpy(), clusters)
    return {"quality": None if q[0] is None else q[1] - q[0], "pass_rate": None if p[0] is None else p[1] - p[0]}


def paired_widths(frame: pd.DataFrame, intent: str, config: str, by_clusters: bool) -> float | None:
    mine = frame[frame["intent"] == intent]
    # rows of a planted case are in the same order for every configuration (repeat keeps order), so align by position
    a = mine[mine["config_id"] == config].reset_index(drop=True)
    b = mine[mine["config_id"] == REFERENCE].reset_index(drop=True)
    if len(a) != len(b) or not (a["cluster_id"] == b["cluster_id"]).all():
        raise RuntimeError(f"{intent}: {config} and {REFERENCE} did not answer the same cases")
    mean, lower, _ = paired_lower_bound((a["quality"] - b["quality"]).to_numpy(), a["cluster_id"].to_numpy(dtype=object) if by_clusters else None)
    return None if lower is None else mean - lower


def kish(copies: list[int]) -> float:
    """The honest width ratio of a copy-weighted mean to the unweighted one: sqrt(G * sum k^2 / (sum k)^2)."""
    k = np.asarray(copies, dtype="float64")
    return math.sqrt(k.size * float(np.sum(k * k)) / float(np.sum(k)) ** 2)


def compare(scores: pd.DataFrame, sizes: dict[str, list[int]], planting: str, seeds: int) -> list[dict]:
    clusters = scores.drop_duplicates(["intent", "cluster_id"])[["intent", "cluster_id"]]
    rows = []
    dedup = {(i, c): widths(g, by_clusters=False) for (i, c), g in scores.groupby(["intent", "config_id"], sort=True)}
    dedup_pair = {(i, c): paired_widths(scores, i, c, False) for i in sorted(set(scores["intent"])) for c in CONFIGS if c != REFERENCE}
    samples: dict[tuple, list[tuple[float, float, float]]] = {}
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        if planting == "even":
            copies = {(i, c): 3 for i, c in zip(clusters["intent"], clusters["cluster_id"])}
        elif planting == "uneven":
            copies = {(i, c): int(rng.integers(1, 4)) for i, c in zip(clusters["intent"], clusters["cluster_id"])}
        else:
            copies = {(i, c): int(rng.choice(sizes[i])) for i, c in zip(clusters["intent"], clusters["cluster_id"])}
        planted = plant(scores, copies)
        for (intent, config), group in planted.groupby(["intent", "config_id"], sort=True):
            expected = kish([copies[(intent, c)] for c in group["cluster_id"].unique()])
            naive, clustered = widths(group, False), widths(group, True)
            for figure in ("quality", "pass_rate"):
                base = dedup[(intent, config)][figure]
                if base and naive[figure] and clustered[figure]:
                    samples.setdefault((figure, intent, config), []).append((naive[figure] / base, clustered[figure] / base, expected))
            if config != REFERENCE:
                base = dedup_pair[(intent, config)]
                naive_w, clustered_w = paired_widths(planted, intent, config, False), paired_widths(planted, intent, config, True)
                if base and naive_w and clustered_w:
                    samples.setdefault(("paired_diff", intent, f"{config} - {REFERENCE}"), []).append((naive_w / base, clustered_w / base, expected))
    order = {"quality": 0, "pass_rate": 1, "paired_diff": 2}
    for (figure, intent, config), values in sorted(samples.items(), key=lambda item: (order[item[0][0]], item[0][1:])):
        arr = np.array(values)
        g = int(scores[(scores["intent"] == intent)]["cluster_id"].nunique())
        base = dedup[(intent, config)][figure] if figure != "paired_diff" else dedup_pair[(intent, config.split(" - ")[0])]
        rows.append({"planting": planting, "figure": figure, "intent": intent, "config": config, "clusters": g,
                     "dedup_width": base, "naive_width": base * float(np.median(arr[:, 0])), "cluster_width": base * float(np.median(arr[:, 1])),
                     "naive_ratio": float(np.median(arr[:, 0])), "cluster_ratio": float(np.median(arr[:, 1])),
                     "kish_ratio": float(np.median(arr[:, 2]))})
    return rows


def bootstrap_check(scores: pd.DataFrame) -> dict:
    """The summaries' cluster bootstrap (mean quality) on one `uneven` planting, against the deduplicated bootstrap."""
    clusters = scores.drop_duplicates(["intent", "cluster_id"])[["intent", "cluster_id"]]
    rng = np.random.default_rng(1000)
    copies = {(i, c): int(rng.integers(1, 4)) for i, c in zip(clusters["intent"], clusters["cluster_id"])}
    planted = plant(scores, copies)
    naive, clustered = [], []
    for (intent, config), group in planted.groupby(["intent", "config_id"], sort=True):
        base_values = scores[(scores["intent"] == intent) & (scores["config_id"] == config)]["quality"].to_numpy()
        low, high = cluster_bootstrap_ci(base_values)
        if low is None or high - low == 0:
            continue
        n_low, n_high = cluster_bootstrap_ci(group["quality"].to_numpy())
        c_low, c_high = cluster_bootstrap_ci(group["quality"].to_numpy(), group["cluster_id"].to_numpy(dtype=object))
        naive.append((n_high - n_low) / (high - low))
        clustered.append((c_high - c_low) / (high - low))
    return {"groups": len(naive), "naive_ratio_median": float(np.median(naive)), "cluster_ratio_median": float(np.median(clustered))}


def summary(rows: list[dict]) -> dict:
    out = {}
    for planting in dict.fromkeys(r["planting"] for r in rows):
        for figure in ("quality", "pass_rate", "paired_diff"):
            mine = [r for r in rows if r["planting"] == planting and r["figure"] == figure]
            if not mine:
                continue
            within = [abs(r["cluster_ratio"] - 1) <= TOLERANCE for r in mine]
            naive_within = [abs(r["naive_ratio"] - 1) <= TOLERANCE for r in mine]
            out[f"{planting}/{figure}"] = {
                "groups": len(mine),
                "naive_ratio_median": float(np.median([r["naive_ratio"] for r in mine])),
                "cluster_ratio_median": float(np.median([r["cluster_ratio"] for r in mine])),
                "cluster_within_10pct": f"{sum(within)}/{len(mine)}",
                "naive_within_10pct": f"{sum(naive_within)}/{len(mine)}",
                "cluster_over_kish_median": float(np.median([r["cluster_ratio"] / r["kish_ratio"] for r in mine])),
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="planting seeds (medians over them)")
    parser.add_argument("--dataset", default="v1")
    parser.add_argument("--all-tables", action="store_true", help="per-intent tables of every planting (default: the target's, uneven)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    scores, sizes = deduplicated_scores(args.dataset)
    scored_s = time.perf_counter() - start
    rows = [row for planting in ("even", "uneven", "v1-like") for row in compare(scores, sizes, planting, 1 if planting == "even" else args.seeds)]
    report = {"dataset": args.dataset, "distinct_cases": int(scores.drop_duplicates(["intent", "cluster_id"]).shape[0]),
              "scored_rows": len(scores), "double_run_s": round(scored_s, 1), "seeds": args.seeds, "rows": rows,
              "summary": summary(rows), "bootstrap_uneven": bootstrap_check(scores)}
    uneven = [v for k, v in report["summary"].items() if k.startswith("uneven/")]
    report["target_met_uneven"] = all(abs(v["cluster_ratio_median"] - 1) <= TOLERANCE and abs(v["naive_ratio_median"] - 1) > TOLERANCE
                                      for v in uneven)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"dataset {args.dataset} deduplicated: {report['distinct_cases']} distinct cases, {len(scores)} scored answers "
          f"({', '.join(CONFIGS)}; double run {scored_s:.0f}s); medians over {args.seeds} planting seeds\n")
    table = pd.DataFrame(rows)
    for (planting, figure), part in table.groupby(["planting", "figure"], sort=False):
        if planting != "uneven" and not args.all_tables:
            continue
        print(f"== {planting}: {figure} interval widths (dedup = each distinct case once; naive and by clusters on the planted data)")
        shown = part[["intent", "config", "clusters", "dedup_width", "naive_width", "cluster_width", "naive_ratio", "cluster_ratio", "kish_ratio"]]
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        print()
    print("summary (ratio = width / deduplicated width; kish = sqrt(G sum k^2 / (sum k)^2) of the planting):")
    for key, s in report["summary"].items():
        print(f"  {key:<22} naive {s['naive_ratio_median']:.3f} (within 10%: {s['naive_within_10pct']:>5})   "
              f"by clusters {s['cluster_ratio_median']:.3f} (within 10%: {s['cluster_within_10pct']:>5})   "
              f"by clusters / kish {s['cluster_over_kish_median']:.3f}")
    b = report["bootstrap_uneven"]
    print(f"  summaries' bootstrap (uneven, mean quality, {b['groups']} groups): naive {b['naive_ratio_median']:.3f}   "
          f"cluster bootstrap {b['cluster_ratio_median']:.3f}")
    print(f"target (uneven planting: by clusters within 10% of deduplicated, naive not): {'MET' if report['target_met_uneven'] else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
