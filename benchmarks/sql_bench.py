"""The decision SQL over millions of result rows on DuckDB (issue 4 target): load, then aggregates + frontier +
recommendation + projections, timed; and its results compared with an independent pandas computation on
the same rows (tests/warehouse_reference.py). Prints figures; asserts nothing about time.

Usage: python benchmarks/sql_bench.py [--rows 5000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mangaeval.intents import intent_names  # noqa: E402
from mangaeval.results import RESULT_SCHEMA  # noqa: E402
from mangaeval.warehouse import connect  # noqa: E402
from mangaeval.warehouse.decide import decisions_document  # noqa: E402
from mangaeval.warehouse.pairs import quality_pairs  # noqa: E402
from mangaeval.warehouse.policy import intent_mix_rows, load_policy  # noqa: E402
from tests.warehouse_reference import frontier, metrics, recommendation  # noqa: E402

CONFIGS = {  # quality, cost per call, latency ms
    "sonnet-3-5-v2": (0.92, 0.0030, 1300), "sonnet-4-5": (0.93, 0.0031, 1250), "haiku-3-5": (0.88, 0.0008, 600),
    "haiku-4-5": (0.90, 0.0010, 650), "haiku-3": (0.82, 0.00025, 450), "nova-lite": (0.84, 0.00012, 400),
    "nova-micro": (0.78, 0.00007, 350), "nova-pro": (0.89, 0.0016, 900), "custom-sagemaker": (0.80, 0.0009, 1100),
    "sonnet-3-5-v2-t0": (0.92, 0.0030, 1300),
}


def synthetic(rows: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    intents = list(intent_names())
    per_group = rows // (len(intents) * len(CONFIGS))
    n = per_group * len(intents) * len(CONFIGS)
    config_idx = np.repeat(np.arange(len(CONFIGS)), len(intents) * per_group)
    intent_idx = np.tile(np.repeat(np.arange(len(intents)), per_group), len(CONFIGS))
    case_idx = np.tile(np.arange(per_group), len(CONFIGS) * len(intents))
    spec = np.array(list(CONFIGS.values()))
    ok = rng.random(n) > 0.01
    quality = np.clip(rng.normal(spec[config_idx, 0] - 0.03 * intent_idx / len(intents), 0.08), 0, 1)
    latency = np.maximum(rng.normal(spec[config_idx, 2], spec[config_idx, 2] * 0.3), 50).round()
    cost = spec[config_idx, 1] * rng.uniform(0.6, 1.4, n)
    names = list(CONFIGS)

    def dictionary(values: list[str], index: np.ndarray) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(index.astype("int32")), pa.array(values)).cast(pa.string())

    test_ids = [f"case-{i:06d}" for i in range(per_group)]
    columns = {
        "run_id": pa.array(np.full(n, "bench"), pa.string()),
        "config_id": dictionary(names, config_idx), "model_id": dictionary([f"model/{c}" for c in names], config_idx),
        "intent": dictionary(intents, intent_idx), "test_id": dictionary(test_ids, case_idx),
        "language": pa.array(np.where(case_idx % 3 == 0, "ja", "en")), "dataset_version": pa.array(np.full(n, "v1")),
        "prompt_version": pa.array(np.full(n, "v1")), "status": pa.array(np.where(ok, "ok", "error")),
        "input_tokens": pa.array(np.where(ok, rng.integers(200, 900, n), 0), mask=~ok),
        "output_tokens": pa.array(np.where(ok, rng.integers(20, 300, n), 0), mask=~ok),
        "cost_usd": pa.array(cost, mask=~ok), "latency_ms": pa.array(latency.astype("int64"), mask=~ok),
        "quality_score": pa.array(quality, mask=~ok), "passed": pa.array(quality >= 0.75, mask=~ok),
        "attempts": pa.array(np.ones(n, dtype="int32")), "wall_ms": pa.array(latency + 5.0),
        "cache_hit": pa.array(np.zeros(n, dtype=bool)), "error_code": pa.array(np.where(ok, None, "ThrottlingException")),
    }
    arrays = [columns[f.name].cast(f.type) if f.name in columns else pa.nulls(n, f.type) for f in RESULT_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=RESULT_SCHEMA)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    policy = load_policy()
    t0 = time.perf_counter()
    table = synthetic(args.rows)
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    pairs = quality_pairs(frame)
    t_pairs = time.perf_counter() - t0
    warehouse = connect("duckdb:///:memory:")
    warehouse.ensure_schema()
    tables = {"eval_results": table, "quality_pairs": pairs, "routing_policy": [policy.row("bench")],
              "intent_mix": intent_mix_rows("bench"), "current_routing": []}
    t0 = time.perf_counter()
    warehouse.load_run("bench", tables)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    decision = decisions_document(warehouse, "bench")
    t_sql = time.perf_counter() - t0
    warehouse.close()

    t0 = time.perf_counter()
    expected = metrics(frame)
    expected_front = frontier(expected)
    expected_rec = recommendation(frame, policy, {})
    t_pandas = time.perf_counter() - t0
    got = pd.DataFrame(decision["aggregates"]).set_index(["intent", "config_id"]).sort_index()
    exp = expected.set_index(["intent", "config_id"]).sort_index()
    columns = ["calls", "ok_calls", "error_rate", "mean_quality", "pass_rate", "mean_cost_usd", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"]
    max_diff = float(np.nanmax(np.abs(got[columns].astype(float).to_numpy() - exp[columns].astype(float).to_numpy())))
    same_front = decision["frontier"] == expected_front
    same_rec = {i: (r["config_id"], r["flagged"]) for i, r in decision["recommendation"].items()} == expected_rec
    report = {"rows": table.num_rows, "generate_s": t_gen, "pairs_scipy_s": t_pairs, "load_s": t_load,
              "sql_decisions_s": t_sql, "pandas_reference_s": t_pandas, "aggregates_max_abs_diff": max_diff,
              "frontier_equal": same_front, "recommendation_equal": same_rec,
              "recommendation": {i: r["config_id"] for i, r in decision["recommendation"].items()},
              "projection": {k: decision["projection"][k] for k in ("recommended_monthly_usd", "baseline_monthly_usd", "savings_monthly_usd")}}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['rows']:,} result rows ({len(CONFIGS)} configurations x {len(intent_names())} intents), DuckDB in memory")
        print(f"  load {t_load:.1f}s; paired statistics (scipy) {t_pairs:.1f}s")
        print(f"  SQL aggregates + frontier + recommendation + projections: {t_sql:.2f}s (pandas reference: {t_pandas:.1f}s)")
        print(f"  equal to pandas: aggregates max |diff| {max_diff:.2e}, frontier {same_front}, recommendation {same_rec}")
        print(f"  projection: recommended ${report['projection']['recommended_monthly_usd']:,.0f}/month vs all-premium "
              f"${report['projection']['baseline_monthly_usd']:,.0f}")
    return 0 if same_front and same_rec and max_diff < 1e-6 else 1


if __name__ == "__main__":
    raise SystemExit(main())
