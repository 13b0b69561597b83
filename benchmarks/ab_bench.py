"""A/B benchmark: A/A validity under continuous monitoring, power, and the speed of the analysis.

    python benchmarks/ab_bench.py [--aa 500] [--power 200] [--events 10000000] [--skip-speed]

Prints:
- A/A: the share of 500 simulated A/A experiments, each analysed at 30 successive looks, that ever reach
  PROMOTE or ROLLBACK (target: at most 5% + simulation error);
- power: the share promoted for true quality effects +0.02/+0.03/+0.05 by 1,000/5,000/45,000 sessions per
  arm (target: +0.03 at 45,000 promoted in at least 95%);
- speed: the analysis of N request events in the embedded warehouse (DuckDB; sufficient statistics in SQL)
  against the baseline of loading the events into pandas and computing there (the earlier sketch's way),
  both in this run, and the ratio (targets: under 10 s, at least 20x faster).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "include"))

from mangaeval.ab.analysis import analyze, sufficient_stats  # noqa: E402
from mangaeval.ab.decision import decide  # noqa: E402
from mangaeval.ab.experiments import experiment_for  # noqa: E402
from mangaeval.ab.stats import ArmSums, compare  # noqa: E402
from mangaeval.ab.study import aa_study, power_study  # noqa: E402
from mangaeval.warehouse import connect  # noqa: E402

START = datetime(2026, 11, 20)


def fill_events(warehouse, events: int) -> None:
    """N request events of one experiment (3 per session, 50/50 split), generated inside DuckDB."""
    with warehouse.transaction() as cur:
        cur.execute("SELECT setseed(0.42)")
        cur.execute(f"""
            INSERT INTO request_events
            SELECT 'bench' AS load_id,
                   TIMESTAMP '2026-11-20 00:00:00' + to_seconds(CAST(i * 604800.0 / {events} AS BIGINT)) AS event_time,
                   'bench' AS experiment_id,
                   'session-' || CAST(i // 3 AS VARCHAR) AS session_id,
                   CASE WHEN hash(i // 3) % 2 = 0 THEN 'control' ELSE 'treatment' END AS arm,
                   'cfg' AS config_id, 'recommendation' AS intent,
                   CASE WHEN random() < 0.01 THEN NULL ELSE least(1.0, greatest(0.0, 0.84 + 0.1 * (random() + random() + random() - 1.5))) END,
                   800 + 800 * random() AS latency_ms, 1800 AS input_tokens, 250 AS output_tokens, 0.009 AS cost_usd,
                   NULL AS error_code
            FROM range({events}) t(i)""")
        cur.execute("UPDATE request_events SET error_code = 'ModelTimeoutException' WHERE quality_score IS NULL")


def analysis_in_sql(warehouse, as_of, repeats: int = 3) -> tuple[float, str]:
    """Median of `repeats` analyses, after one that warms the engine's cache (the baselines run warm too)."""
    experiment = experiment_for("bench", 0.5, start_time=START)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        decision = decide(analyze(sufficient_stats(warehouse, "bench", as_of), experiment, as_of))["decision"]
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:])), decision


def analysis_in_pandas(warehouse, as_of, fetch: str) -> float:
    """Baseline: pull the experiment's events into pandas, then compute the same per-session statistics."""
    start = time.perf_counter()
    sql = ("SELECT session_id, arm, quality_score, latency_ms, cost_usd, error_code FROM request_events "
           "WHERE experiment_id = 'bench' AND event_time <= $as_of")
    if fetch == "rows":  # the generic DB-API path (what the warehouse interface gives every engine)
        with warehouse.transaction() as cur:
            cur.execute(sql, {"as_of": as_of})
            names = [d[0] for d in cur.description]
            frame = pd.DataFrame(cur.fetchall(), columns=names)
    else:  # DuckDB's Arrow fast path (engine-specific)
        frame = warehouse.con.execute(sql, {"as_of": as_of}).fetch_df()
    ok = frame["error_code"].isna()
    frame = frame.assign(scored=(ok & frame["quality_score"].notna()).astype(float), quality=frame["quality_score"].where(ok, 0.0).fillna(0.0),
                         ok=ok.astype(float), ok_latency=frame["latency_ms"].where(ok, 0.0), failed=(~ok).astype(float), requests=1.0)
    sessions = frame.groupby(["arm", "session_id"])[["requests", "scored", "quality", "ok", "ok_latency", "failed", "cost_usd"]].sum()
    arms = {}
    for arm, s in sessions.groupby(level="arm"):
        arms[arm] = {m: ArmSums(len(s), s[x].sum(), s[y].sum(), (s[x] ** 2).sum(), (s[y] ** 2).sum(), (s[x] * s[y]).sum())
                     for m, (x, y) in {"quality": ("scored", "quality"), "latency_ms": ("ok", "ok_latency"),
                                       "cost_usd": ("requests", "cost_usd"), "error_rate": ("requests", "failed")}.items()}
    for metric in arms["control"]:
        compare(arms["control"][metric], arms["treatment"][metric], session_metric=False, tau=0.02)
    np.quantile(frame.loc[ok & (frame["arm"] == "control"), "latency_ms"], 0.95)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--aa", type=int, default=500)
    parser.add_argument("--looks", type=int, default=30)
    parser.add_argument("--power", type=int, default=200)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-rows-baseline", action="store_true", help="skip the slow DB-API baseline")
    args = parser.parse_args()
    figures = {}

    start = time.perf_counter()
    aa = aa_study(experiments=args.aa, looks=args.looks, sessions_per_arm=10_000)
    figures["aa"] = aa
    print(f"A/A: {aa['experiments']} experiments x {aa['looks']} looks, {aa['sessions_per_arm']} sessions per arm: "
          f"{aa['ever_promote_or_rollback']:.1%} ever reached PROMOTE or ROLLBACK (simulation s.e. {aa['simulation_se']:.1%}; "
          f"target <= 5%); final decisions {aa['final_decisions']} [{time.perf_counter() - start:.0f}s]", flush=True)

    start = time.perf_counter()
    power = power_study(experiments=args.power)
    figures["power"] = power
    print(f"power: share promoted by N sessions per arm ({power['experiments_per_cell']} experiments per cell) "
          f"[{time.perf_counter() - start:.0f}s]")
    print(f"  {'true effect':>12} " + " ".join(f"{n:>8}" for n in (1000, 5000, 45000)))
    for effect, row in power["promoted_share"].items():
        print(f"  {effect:>12} " + " ".join(f"{row[str(n)]:>8.1%}" for n in (1000, 5000, 45000)))
    print(f"  target: +0.03 at 45,000 promoted in >= 95%: {power['promoted_share']['+0.03']['45000']:.1%}", flush=True)

    if not args.skip_speed:
        with tempfile.TemporaryDirectory() as tmp:
            warehouse = connect(f"duckdb:///{Path(tmp) / 'bench.duckdb'}")
            warehouse.ensure_schema()
            start = time.perf_counter()
            fill_events(warehouse, args.events)
            print(f"speed: {args.events:,} request events generated in DuckDB in {time.perf_counter() - start:.1f}s", flush=True)
            as_of = START + timedelta(days=8)
            sql_s, decision = analysis_in_sql(warehouse, as_of)
            arrow_s = analysis_in_pandas(warehouse, as_of, "arrow")
            figures["speed"] = {"events": args.events, "sql_s": sql_s, "pandas_arrow_s": arrow_s}
            print(f"  analysis in the warehouse (SQL sufficient statistics + decision): {sql_s:.2f}s -> {decision} (target < 10 s)")
            print(f"  baseline, events into pandas via DuckDB's Arrow fetch, then computed: {arrow_s:.2f}s ({arrow_s / sql_s:.1f}x slower)",
                  flush=True)
            if not args.skip_rows_baseline:
                rows_s = analysis_in_pandas(warehouse, as_of, "rows")
                figures["speed"]["pandas_rows_s"] = rows_s
                print(f"  baseline, events into pandas through the warehouse's DB-API fetch, then computed: {rows_s:.2f}s "
                      f"({rows_s / sql_s:.1f}x slower; target >= 20x)")
            warehouse.close()
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "ab_bench.json").write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
