"""A/B benchmark: A/A validity under continuous monitoring, power, and the speed of the analysis.

    python benchmarks/ab_bench.py [--aa 500] [--power 200] [--events 10000000] [--skip-speed]

Prints:
- A/A: the share of 500 simulated A/A experiments, each analysed at 30 successive looks, that ever reach
  PROMOTE or ROLLBACK (target: at most 5% + simulation error);
- power: the share promoted for true quality effects +0.02/+0.03/+0.05 by 1,000/5,000/45,000 sessions per
  arm (target: +0.03 at 45,000 promoted in at least 95%);
- speed: the analysis of N request events in the embedded warehouse (DuckDB; sufficient statistics in SQL,
  per-session totals kept by the loads) against the baseline of loading the events into pandas and computing
  the same statistics there (the earlier sketch's way; checked to give the same figures and decision), both in
  this run, and the ratio (targets: under 10 s, at least 20x faster). Also printed, so the ratio hides
  nothing: what an hourly load costs with the totals refresh, the ratio when each look is charged one such
  load, and the per-request sums regrouped from the events alone.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "include"))

from mangaeval.ab.analysis import ARMS, REQUEST_METRICS, SESSION_METRICS, SufficientStats, analyze, sufficient_stats  # noqa: E402
from mangaeval.ab.decision import decide  # noqa: E402
from mangaeval.ab.experiments import experiment_for  # noqa: E402
from mangaeval.ab.loading import rebuild_session_totals  # noqa: E402
from mangaeval.ab.stats import quantile_interval_fractions  # noqa: E402
from mangaeval.ab.study import aa_study, power_study  # noqa: E402
from mangaeval.warehouse import connect  # noqa: E402

START = datetime(2026, 11, 20)


def fill_events(warehouse, events: int) -> float:
    """N request events of one experiment over 7 days in 168 hourly loads (3 per session, 50/50 split, 1%
    errors, a few sessions in both arms) and one session event per session, generated inside DuckDB; then the
    per-session totals a loader keeps, built in one go. Returns that build's time."""
    with warehouse.transaction() as cur:
        cur.execute("SELECT setseed(0.42)")
        cur.execute(f"""
            INSERT INTO request_events
            SELECT 'bench/requests/hour-' || CAST(CAST(floor(i * 168.0 / {events}) AS BIGINT) AS VARCHAR) AS load_id,
                   TIMESTAMP '2026-11-20 00:00:00' + to_seconds(CAST(i * 604800.0 / {events} AS BIGINT)) AS event_time,
                   'bench' AS experiment_id,
                   'session-' || CAST(i // 3 AS VARCHAR) AS session_id,
                   -- every 100,003rd request logged under the other arm: a few sessions in both arms, as a buggy bot makes
                   CASE WHEN (hash(i // 3) + CASE WHEN i % 100003 = 0 THEN 1 ELSE 0 END) % 2 = 0 THEN 'control' ELSE 'treatment' END AS arm,
                   'cfg' AS config_id, 'recommendation' AS intent,
                   CASE WHEN random() < 0.01 THEN NULL ELSE least(1.0, greatest(0.0, 0.84 + 0.1 * (random() + random() + random() - 1.5))) END,
                   800 + 800 * random() AS latency_ms, 1800 AS input_tokens, 250 AS output_tokens, 0.009 AS cost_usd,
                   NULL AS error_code
            FROM range({events}) t(i)""")
        cur.execute("UPDATE request_events SET error_code = 'ModelTimeoutException' WHERE quality_score IS NULL")
        cur.execute("""
            INSERT INTO session_events
            SELECT 'bench', experiment_id, session_id, MIN(arm), MIN(event_time),
                   CASE WHEN random() < 0.12 THEN 1 ELSE 0 END, CASE WHEN random() < 0.05 THEN 1 ELSE 0 END,
                   CASE WHEN random() < 0.60 THEN 1 ELSE 0 END, 60 + 240 * random()
            FROM request_events GROUP BY experiment_id, session_id""")
    start = time.perf_counter()
    rebuild_session_totals(warehouse, "bench")  # written around the loader: its per-session totals built once
    rebuilt = time.perf_counter() - start
    with warehouse.transaction() as cur:  # as a warehouse settles after its loads: written to disk, compressed
        cur.execute("CHECKPOINT")
    return rebuilt


def hourly_reload(warehouse, repeats: int = 3) -> tuple[float, int]:
    """What a load costs with the totals kept in step: the last hour's file replaced (delete, insert, refresh
    of the touched sessions' totals), median of `repeats`."""
    load_id = "bench/requests/hour-167"
    frame = warehouse.con.execute("SELECT * FROM request_events WHERE load_id = $load_id", {"load_id": load_id}).df()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        warehouse.replace_keyed("request_events", {"load_id": load_id}, frame)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), len(frame)


def request_sums_from_events(warehouse, as_of, repeats: int = 3) -> tuple[float, bool]:
    """The per-request sums regrouped from the events alone (the reference query, no maintained totals): its
    time, and whether it equals what the analysis read."""
    params = {"experiment_id": "bench", "as_of": as_of}
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        reference = warehouse.query("ab/ab_request_sums_from_events.sql", params)
        times.append(time.perf_counter() - start)
    maintained = warehouse.query("ab/ab_request_sums.sql", params)
    same = reference.columns.equals(maintained.columns) and np.allclose(reference.drop(columns="arm").to_numpy(float),
                                                                        maintained.drop(columns="arm").to_numpy(float), rtol=1e-9)
    return float(np.median(times[1:])), same and list(reference["arm"]) == list(maintained["arm"])


def analysis_in_sql(warehouse, as_of, repeats: int = 3) -> tuple[float, str, SufficientStats]:
    """Median of `repeats` analyses, after one that warms the engine's cache (the baselines run warm too)."""
    experiment = experiment_for("bench", 0.5, start_time=START)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        stats = sufficient_stats(warehouse, "bench", as_of)
        decision = decide(analyze(stats, experiment, as_of))["decision"]
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:])), decision, stats


REQUESTS_SQL = ("SELECT session_id, arm, quality_score, latency_ms, cost_usd, error_code FROM request_events "
                "WHERE experiment_id = $experiment_id AND event_time <= $as_of")
SESSIONS_SQL = ("SELECT session_id, arm, cart_add, escalated, continued, duration_s FROM session_events "
                "WHERE experiment_id = $experiment_id AND started_at <= $as_of")


def stats_in_pandas(requests: pd.DataFrame, sessions: pd.DataFrame) -> SufficientStats:
    """The statistics the SQL returns, computed in pandas from the events: the baseline's "computing there"."""
    ok = requests["error_code"].isna()
    per_request = pd.DataFrame({
        "session_id": requests["session_id"], "requests": 1.0, "treated": (requests["arm"] == "treatment").astype(float),
        "scored": (ok & requests["quality_score"].notna()).astype(float), "quality": requests["quality_score"].where(ok, 0.0).fillna(0.0),
        "ok": ok.astype(float), "latency_ms": requests["latency_ms"].where(ok, 0.0), "failed": (~ok).astype(float),
        "cost_usd": requests["cost_usd"]})
    per_session = per_request.groupby("session_id", sort=False).sum()
    arm = np.where(per_session["treated"] == 0, "control", np.where(per_session["treated"] == per_session["requests"], "treatment", "both"))
    found = SufficientStats(sessions_in_both_arms=int((arm == "both").sum()))
    for name in ARMS:
        s = per_session[arm == name]
        row = {"sessions": float(len(s))}
        for x, y in REQUEST_METRICS.values():
            row[x], row[f"{x}_sq"] = s[x].sum(), (s[x] * s[x]).sum()
            row[y], row[f"{y}_sq"], row[f"{y}_x_{x}"] = s[y].sum(), (s[y] * s[y]).sum(), (s[y] * s[x]).sum()
        found.requests[name] = row
    outcomes = sessions.groupby(["arm", "session_id"], sort=False)[list(SESSION_METRICS)].max().astype(float)
    for name, s in outcomes.groupby(level="arm"):
        found.sessions[name] = {"sessions": float(len(s)), **{m: s[m].sum() for m in SESSION_METRICS},
                                **{f"{m}_sq": (s[m] * s[m]).sum() for m in SESSION_METRICS}}
    latencies = {name: requests["latency_ms"][ok & (requests["arm"] == name)].to_numpy() for name in ARMS}
    q_low, q_high = quantile_interval_fractions(min(len(v) for v in latencies.values()))
    for name, values in latencies.items():
        p95, low, high = np.quantile(values, [0.95, q_low, q_high], method="inverted_cdf")
        found.p95[name] = {"requests": float(len(values)), "p95": p95, "p95_low": low, "p95_high": high}
    return found


def analysis_in_pandas(warehouse, as_of, fetch: str) -> tuple[float, float, str, SufficientStats]:
    """Baseline: pull the experiment's events into pandas, compute the same statistics there, then the same
    analysis and decision. Returns the total and the fetch's share of it."""
    params = {"experiment_id": "bench", "as_of": as_of}
    start = time.perf_counter()
    if fetch == "read_sql":  # pandas' generic way: a DB-API connection (rows fetched, then framed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pandas prefers SQLAlchemy; DB-API works as documented
            requests = pd.read_sql(REQUESTS_SQL, warehouse.con, params=params)
            sessions = pd.read_sql(SESSIONS_SQL, warehouse.con, params=params)
    else:  # DuckDB's Arrow fast path (engine-specific: no such path on Redshift through redshift-connector)
        requests = warehouse.con.execute(REQUESTS_SQL, params).df()
        sessions = warehouse.con.execute(SESSIONS_SQL, params).df()
    fetched = time.perf_counter()
    stats = stats_in_pandas(requests, sessions)
    decision = decide(analyze(stats, experiment_for("bench", 0.5, start_time=START), as_of))["decision"]
    done = time.perf_counter()
    return done - start, fetched - start, decision, stats


def same_statistics(a: SufficientStats, b: SufficientStats) -> bool:
    """The two computations agree (relative 1e-9): the baseline does the same work, not less."""
    if a.sessions_in_both_arms != b.sessions_in_both_arms:
        return False
    for part in ("requests", "sessions", "p95"):
        x, y = getattr(a, part), getattr(b, part)
        if x.keys() != y.keys():
            return False
        for arm in x:
            if x[arm].keys() != y[arm].keys() or not all(math.isclose(x[arm][k], y[arm][k], rel_tol=1e-9, abs_tol=1e-9) for k in x[arm]):
                return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--aa", type=int, default=500)
    parser.add_argument("--looks", type=int, default=30)
    parser.add_argument("--power", type=int, default=200)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-rows-baseline", action="store_true", help="skip the slow DB-API baseline")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "ab_bench.json", help="figures as JSON")
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
            rebuild_s = fill_events(warehouse, args.events)
            print(f"speed: {args.events:,} request events generated in DuckDB in {time.perf_counter() - start:.1f}s "
                  f"(their per-session totals built from scratch in {rebuild_s:.2f}s)", flush=True)
            reload_s, reload_rows = hourly_reload(warehouse)
            print(f"  an hourly load ({reload_rows:,} request events) replaced, its sessions' totals refreshed: {reload_s:.2f}s", flush=True)
            as_of = START + timedelta(days=8)
            sql_s, decision, sql_stats = analysis_in_sql(warehouse, as_of)
            figures["speed"] = {"events": args.events, "sql_s": sql_s, "decision": decision,
                                "sessions_in_both_arms": sql_stats.sessions_in_both_arms}
            print(f"  analysis in the warehouse (SQL sufficient statistics + analysis + decision): {sql_s:.2f}s -> {decision}, "
                  f"{sql_stats.sessions_in_both_arms} session(s) in both arms excluded (target < 10 s)", flush=True)
            reference_s, same = request_sums_from_events(warehouse, as_of)
            figures["speed"].update(rebuild_totals_s=rebuild_s, hourly_reload_s=reload_s, request_sums_from_events_s=reference_s)
            print(f"  for comparison, the per-request sums regrouped from the events alone (no maintained totals): {reference_s:.2f}s; "
                  f"same figures: {'yes' if same else 'NO'}", flush=True)
            if not same:
                raise SystemExit("the maintained per-session totals disagree with the events")
            baselines = [("arrow", "events into pandas through DuckDB's Arrow fetch (engine-specific)")]
            if not args.skip_rows_baseline:
                baselines.append(("read_sql", "events into pandas with pandas.read_sql on the DB-API connection"))
            for fetch, label in baselines:
                pandas_s, fetch_s, pandas_decision, pandas_stats = analysis_in_pandas(warehouse, as_of, fetch)
                same = same_statistics(sql_stats, pandas_stats) and pandas_decision == decision
                figures["speed"][f"pandas_{fetch}_s"] = pandas_s
                figures["speed"][f"pandas_{fetch}_fetch_s"] = fetch_s
                figures["speed"][f"ratio_{fetch}"] = pandas_s / sql_s
                figures["speed"][f"ratio_{fetch}_with_hourly_load"] = pandas_s / (sql_s + reload_s)
                print(f"  baseline, {label}, then the same statistics and decision: {pandas_s:.2f}s "
                      f"(fetch {fetch_s:.2f}s + pandas {pandas_s - fetch_s:.2f}s), "
                      f"{pandas_s / sql_s:.1f}x the warehouse's time (target >= 20x); same results: {'yes' if same else 'NO'}; "
                      f"{pandas_s / (sql_s + reload_s):.1f}x if each look is also charged its hourly load", flush=True)
                if not same:
                    raise SystemExit("the pandas baseline and the SQL disagree: the comparison is not like for like")
            warehouse.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
