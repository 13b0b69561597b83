"""The monthly projection before and after calibration to live traffic (issue 16, part 6b).

Measures the golden-set projection of a real evaluation (the model_evaluation DAG's default configurations on the golden
dataset, through the model double, loaded by the same code as the DAG), then a week of request events at the field's token
sizes (mangaeval events field-traffic: simulated, MISSION.md's production figures on Sonnet 3.5) written as hourly files and
loaded by the ab_analysis loader, and prints the golden-set and calibrated all-premium and recommended-routing projections,
their ratio, and the calibrated figure against the field's bill of about $315,000/month, with what separates them.
Prints figures; asserts nothing.

Usage: python benchmarks/live_projection_bench.py [--dataset v1] [--limit N] [--per-day 10000] [--days 7]
                                                   [--warehouse-uri URI --run-id RUN] [--quick] [--json]
(--warehouse-uri: take the golden-set run from that warehouse, e.g. make run's duckdb:///.../data/warehouse.duckdb, instead
of evaluating; it is only read: its rows are loaded, with the simulated events, into a temporary warehouse.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIELD_BILL_USD = 315_000  # MISSION.md: "monthly LLM bill then: about $315,000"
FIELD_COST_PER_REQUEST = {"recommendation": 0.012, "faq": 0.011, "product_question": 0.007, "order_tracking": 0.004, "promotion": 0.007}


def evaluate(dataset: str, limit: int | None, out: Path) -> tuple[Path, float]:
    """The DAG's default configurations on the dataset through the model double (mangaeval evaluate starts and stops it)."""
    from mangaeval.pipeline.params import DEFAULT_CONFIGS

    run_id = "live-projection-bench"
    argv = [str(Path(sys.executable).parent / "mangaeval"), "evaluate", "--configs", *DEFAULT_CONFIGS, "--dataset", dataset,
            "--out", str(out), "--run-id", run_id, "--no-cache", "--no-progress", "--json"]
    started = time.perf_counter()
    subprocess.run(argv + (["--limit", str(limit)] if limit else []), check=True, capture_output=True, text=True)
    return out / run_id / "results.parquet", time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="v1")
    parser.add_argument("--limit", type=int, help="cases per intent (default: every case)")
    parser.add_argument("--per-day", type=float, default=10_000.0, help="simulated live events a day (default 10,000)")
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--warehouse-uri", help="read the golden-set run from this warehouse instead of evaluating")
    parser.add_argument("--run-id", help="with --warehouse-uri: the run (default: the latest)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 30 cases per intent, 2 days of traffic")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.limit, args.days = args.limit or 30, min(args.days, 2.0)
    tmp = Path(tempfile.mkdtemp(prefix="live-projection-bench-"))
    try:
        return measure(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(args: argparse.Namespace, tmp: Path) -> int:
    os.environ["MANGAEVAL_EVENTS_URI"] = str(tmp / "events")  # the simulated traffic's own store, never make run's
    from mangaeval.ab.steps import events_store, load_events
    from mangaeval.events import field_traffic
    from mangaeval.intents import load_intents
    from mangaeval.routing.projection import billed_messages
    from mangaeval.results import read_results
    from mangaeval.warehouse import connect
    from mangaeval.warehouse.decide import check_results, run_tables
    from mangaeval.warehouse.live_calibration import calibrated_projection, format_calibrated, load_settings
    from mangaeval.warehouse.policy import load_policy

    policy, intents, settings = load_policy(), load_intents(), load_settings()
    end = datetime.now(timezone.utc).replace(tzinfo=None)
    warehouse_uri = f"duckdb:///{tmp / 'warehouse.duckdb'}"
    figures: dict = {}
    if args.warehouse_uri:
        source = connect(args.warehouse_uri)
        run_id = args.run_id or source.query("dashboards/runs.sql", {})["run_id"].iloc[0]
        with source.transaction() as cur:  # the run's result rows, as the DAG loaded them
            cur.execute(*source._bind("SELECT * FROM eval_results WHERE run_id = :run_id", {"run_id": run_id}))
            frame = pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])
        source.close()
        figures["golden_run"] = {"run_id": run_id, "source": args.warehouse_uri, "rows": len(frame)}
    else:
        path, seconds = evaluate(args.dataset, args.limit, tmp / "results")
        frame = read_results(path)
        run_id = str(frame["run_id"].iloc[0])
        figures["golden_run"] = {"run_id": run_id, "dataset": args.dataset, "rows": len(frame), "evaluate_s": round(seconds, 1),
                                 "configs": sorted(set(frame["config_id"]))}
    frame = check_results(frame, f"run {run_id}")
    warehouse = connect(warehouse_uri)
    warehouse.ensure_schema()
    warehouse.load_run(run_id, run_tables(frame, run_id, policy, None))
    warehouse.close()

    started = time.perf_counter()
    events = field_traffic.generate(end, args.days, args.per_day, policy.baseline_config_id)
    keys = field_traffic.write(events_store(), events, 0)
    start, stop = field_traffic.span(end, args.days)
    loaded = load_events(start, stop, warehouse_uri)
    figures["live_traffic"] = {"files": len(keys), "loaded": loaded["loaded"], "generate_and_load_s": round(time.perf_counter() - started, 1),
                               "per_intent": field_traffic.summary(events)}

    warehouse = connect(warehouse_uri)
    started = time.perf_counter()
    doc = calibrated_projection(warehouse, run_id, settings.__class__(args.days, settings.min_events, end))
    figures["projection_s"] = round(time.perf_counter() - started, 3)
    warehouse.close()

    # What separates the calibrated figure from the field's bill: cache hits, and the intents the brief gives no sizes for.
    no_cache = 0.0
    per_request = {}
    for row in doc["per_intent"]:
        mix = intents[row["intent"]]
        billed = billed_messages(policy.messages_per_day, mix.traffic_share, policy.days_per_month, mix.cache_hit_rate)
        full = billed_messages(policy.messages_per_day, mix.traffic_share, policy.days_per_month, 0.0)
        if row["calibrated_baseline_monthly_usd"] is not None:
            no_cache += row["calibrated_baseline_monthly_usd"] / billed * full
            per_request[row["intent"]] = {"golden": row["golden_baseline_monthly_usd"] / billed,
                                          "calibrated": row["calibrated_baseline_monthly_usd"] / billed,
                                          "field": FIELD_COST_PER_REQUEST.get(row["intent"]), "cache_hit_rate": mix.cache_hit_rate}
    field_no_cache = sum(cost * billed_messages(policy.messages_per_day, intents[i].traffic_share, policy.days_per_month, 0.0)
                         for i, cost in FIELD_COST_PER_REQUEST.items())
    figures["projection"] = {k: doc[k] for k in ("available", "reason", "window", "golden", "calibrated", "ratio", "calibrated_intents",
                                                  "golden_fallback")}
    figures["field_bill_usd"] = FIELD_BILL_USD
    figures["calibrated_vs_field"] = None if doc["calibrated"]["baseline_monthly_usd"] is None else doc["calibrated"]["baseline_monthly_usd"] / FIELD_BILL_USD
    figures["calibrated_baseline_without_cache_usd"] = no_cache
    figures["field_costs_per_request_without_cache_usd"] = field_no_cache
    figures["baseline_cost_per_request"] = per_request
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
        return 0
    g, c, r = doc["golden"], doc["calibrated"], doc["ratio"]
    run = figures["golden_run"]
    print(f"golden set: run {run_id} ({run['rows']:,} result rows" + (f", {run['evaluate_s']}s through the model double)" if "evaluate_s" in run else ")"))
    print(f"live traffic (simulated at the field's token sizes): {loaded['loaded']:,} request events in {len(keys)} hourly files, "
          f"generated and loaded in {figures['live_traffic']['generate_and_load_s']}s; projection query {figures['projection_s']}s")
    print(format_calibrated(doc))
    fmt = lambda v: "-" if v is None else f"${v:,.0f}"
    print(f"\nall-premium per month: golden set {fmt(g['baseline_monthly_usd'])} -> calibrated {fmt(c['baseline_monthly_usd'])} "
          f"(x{r['baseline'] or float('nan'):.2f}); the field's bill about {fmt(FIELD_BILL_USD)} "
          f"(calibrated / field = {figures['calibrated_vs_field'] or float('nan'):.2f})")
    print(f"recommended routing per month: golden set {fmt(g['recommended_monthly_usd'])} -> calibrated {fmt(c['recommended_monthly_usd'])} "
          f"(x{r['recommended'] or float('nan'):.2f})")
    print("all-premium cost per request (golden set -> calibrated; the field's figure on Sonnet 3.5):")
    for intent, v in per_request.items():
        field = "" if v["field"] is None else f"  (field ${v['field']:.3f})"
        print(f"  {intent:<17} ${v['golden']:.6f} -> ${v['calibrated']:.6f}{field}   cache hit rate {v['cache_hit_rate']:.0%}")
    print(f"what separates the calibrated figure from the field's bill: the projection bills (1 - cache hit rate) of the traffic "
          f"(intents.yaml); without cache hits the calibrated all-premium is {fmt(no_cache)}. The field's own costs per request "
          f"(five intents) x 1M messages/day x their shares x 30 days, no cache, come to {fmt(field_no_cache)}: the brief's "
          f"$315,000 includes more than these five intents' model calls.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
