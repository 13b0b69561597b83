"""`mangaeval ab ...`: analyse an experiment from event files, simulate traffic, assign sessions, publish the
experiments config for the bot."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mangaeval.errors import MangaEvalError


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def _fmt(value: Any, digits: int = 4) -> str:
    return "-" if value is None else (f"{value:.{digits}g}" if isinstance(value, float) else str(value))


def cmd_analyze(args: argparse.Namespace) -> int:
    from mangaeval.ab.analysis import utc_naive
    from mangaeval.ab.experiments import experiment_for
    from mangaeval.ab.loading import load_event_file
    from mangaeval.ab.service import analyze_experiment, event_span
    from mangaeval.warehouse import connect

    warehouse = connect("duckdb:///:memory:")  # the same SQL as the warehouse, on the files given
    try:
        warehouse.ensure_schema()
        loads = [load_event_file(warehouse, args.requests, "requests", str(args.requests))]
        if args.sessions:
            loads.append(load_event_file(warehouse, args.sessions, "sessions", str(args.sessions)))
        for load in loads:
            if load["quarantined"]:
                print(f"{load['load_id']}: {load['quarantined']} malformed row(s) quarantined, not analysed:", file=sys.stderr)
                for problem in load["problems"][:10]:
                    print(f"  {problem}", file=sys.stderr)
        first, last, requests = event_span(warehouse, args.experiment)
        if requests == 0:
            seen = warehouse.query("ab/ab_experiments_seen.sql", {})
            raise MangaEvalError(f"{args.requests}: no valid request events for experiment {args.experiment!r} "
                                 f"(experiments in the file: {seen['experiment_id'].tolist() or 'none'})")
        experiment = experiment_for(args.experiment, args.treatment_share, path=args.experiments_file, start_time=first)
        as_of = utc_naive(args.as_of) if args.as_of else last
        doc = analyze_experiment(warehouse, experiment, as_of, store=False)
        doc["quarantined"] = {load["kind"]: load["quarantined"] for load in loads}
    finally:
        warehouse.close()
    if args.json:
        _print_json(doc)
        return 0
    srm = doc["srm"]
    print(f"experiment {doc['experiment_id']} ({'registered' if doc['registered'] else 'not registered: documented defaults'}), "
          f"as of {doc['analyzed_at']}")
    print(f"sessions: control {srm['control_sessions']}, treatment {srm['treatment_sessions']} "
          f"(expected treatment share {srm['expected_treatment_share']:g}; SRM p = {_fmt(srm['p_value'], 3)}: {srm['status']})")
    print(f"{'metric':<12} {'control':>10} {'treatment':>10} {'effect':>10} {'95% CI':>24} {'p':>9} {'p (seq)':>9}")
    for name, m in doc["metrics"].items():
        ci = f"[{_fmt(m['ci_low'])}, {_fmt(m['ci_high'])}]"
        print(f"{name:<12} {_fmt(m['control_mean']):>10} {_fmt(m['treatment_mean']):>10} {_fmt(m['effect']):>10} {ci:>24} "
              f"{_fmt(m['p_value'], 3):>9} {_fmt(m['p_value_sequential'], 3):>9}")
    for arm, p95 in doc["latency_p95"].items():
        if isinstance(p95, dict):
            print(f"P95 latency {arm}: {p95['p95']:.0f} ms [{p95['p95_low']:.0f}, {p95['p95_high']:.0f}]")
    print(f"decision: {doc['decision']}")
    for reason in doc["reasons"]:
        print(f"  - {reason}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from mangaeval.ab.simulator import ArmTruth, simulate

    effects = {"quality": args.quality_effect, "cost": args.cost_effect, "latency": args.latency_effect,
               "error_rate": args.error_rate_effect, "cart_add": args.cart_add_effect, "escalated": args.escalated_effect,
               "continued": args.continued_effect, "duration_s": args.duration_effect}
    base = ArmTruth()
    treatment = base.with_effects(quality=effects["quality"], error_rate=effects["error_rate"], cart_add=effects["cart_add"],
                                  escalated=effects["escalated"], continued=effects["continued"], duration_s=effects["duration_s"],
                                  latency_median_ms=effects["latency"], price_out_per_m=0.0)
    if effects["cost"]:  # a cost change per request, through the output price (tokens stay comparable)
        treatment = treatment.with_effects(price_out_per_m=effects["cost"] * 1e6 / base.output_tokens)
    sim = simulate(args.experiment, args.sessions, treatment_share=args.treatment_share, treatment=treatment,
                   imbalance=args.imbalance, duration_s=args.days * 86400, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    requests, sessions = args.out / "requests.jsonl", args.out / "sessions.jsonl"
    sim.write_jsonl(requests, sessions)
    doc = {"requests": str(requests), "sessions": str(sessions), "request_events": int(len(sim.request_session)),
           "session_events": int(len(sim.session_arm)), "treatment_sessions": int(sim.session_arm.sum())}
    if args.json:
        _print_json(doc)
    else:
        print(f"wrote {doc['request_events']} request events to {requests} and {doc['session_events']} session events to {sessions}")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    from mangaeval.ab.assignment import assign_arm, bucket
    from mangaeval.ab.experiments import experiment_for

    experiment = experiment_for(args.experiment, args.treatment_share, path=args.experiments_file).to_public_dict()
    rows = [{"session_id": s, "bucket": bucket(experiment["salt"], experiment["id"], s), "arm": assign_arm(s, experiment)}
            for s in args.session_ids]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['session_id']}\t{row['arm']}\tbucket {row['bucket']}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from mangaeval.ab.experiments import load_experiments
    from mangaeval.ab.publishing import publish_experiments
    from mangaeval.objectstore import open_store

    result = publish_experiments(open_store(args.store_uri, endpoint_url=args.endpoint_url), load_experiments(args.experiments_file))
    if args.json:
        _print_json(result)
    else:
        print(f"{result['experiments']} experiment(s) at {result['current']} (version {result['version']}, "
              f"{'changed' if result['changed'] else 'unchanged'})")
    return 0


def cmd_rebuild_totals(args: argparse.Namespace) -> int:
    from mangaeval.ab.loading import rebuild_session_totals
    from mangaeval.warehouse import connect

    warehouse = connect(args.warehouse_uri)
    try:
        rebuild_session_totals(warehouse, args.experiment)
        with warehouse.transaction() as cur:
            cur.execute("SELECT COUNT(*), COALESCE(SUM(requests), 0) FROM request_session_totals WHERE experiment_id = "
                        + warehouse._param("experiment_id"), {"experiment_id": args.experiment})
            sessions, requests = cur.fetchone()
    finally:
        warehouse.close()
    print(f"experiment {args.experiment}: per-session totals rebuilt, {int(sessions)} session(s), {int(requests)} request(s)")
    return 0


def register(sub: Any) -> None:
    from mangaeval.argtypes import float_in, iso_time, positive_int, share

    ab = sub.add_parser("ab", help="A/B tests between configurations on live traffic").add_subparsers(dest="ab_command", required=True)
    analyze = ab.add_parser("analyze", help="analyse an experiment from request (and session) event files")
    analyze.add_argument("--requests", required=True, type=Path, help="request events, JSON Lines or Parquet")
    analyze.add_argument("--sessions", type=Path, help="session events, JSON Lines or Parquet")
    analyze.add_argument("--experiment", required=True, help="experiment id (unregistered ids use the documented defaults)")
    analyze.add_argument("--treatment-share", type=share, help="the configured treatment share (default: the experiment's)")
    analyze.add_argument("--as-of", type=iso_time, help="analyse events up to this ISO-8601 time (default: the last event)")
    analyze.add_argument("--experiments-file", type=Path, help="default: include/config/experiments.yaml")
    analyze.add_argument("--json", action="store_true")
    analyze.set_defaults(func=cmd_analyze)

    sim = ab.add_parser("simulate", help="write simulated events with chosen true effects (demos, tests)")
    sim.add_argument("--experiment", required=True)
    sim.add_argument("--sessions", type=positive_int, default=20_000, help="sessions in all (both arms)")
    sim.add_argument("--treatment-share", type=share, default=0.5)
    sim.add_argument("--imbalance", type=float_in(0, 1, high_open=True), default=0.0, help="share of treatment sessions lost (a sample-ratio mismatch)")
    sim.add_argument("--days", type=float_in(0, 3660, low_open=True), default=7.0)
    sim.add_argument("--seed", type=int, default=0)
    for name, helptext in (("quality", "absolute"), ("cost", "USD per request"), ("latency", "ms on the median"),
                           ("error-rate", "absolute"), ("cart-add", "absolute"), ("escalated", "absolute"),
                           ("continued", "absolute"), ("duration", "seconds")):
        sim.add_argument(f"--{name}-effect", type=float, default=0.0, help=f"true treatment effect ({helptext})")
    sim.add_argument("--out", type=Path, required=True, help="folder for requests.jsonl and sessions.jsonl")
    sim.add_argument("--json", action="store_true")
    sim.set_defaults(func=cmd_simulate)

    assign = ab.add_parser("assign", help="the arm of each session (the chatbot's stable assignment)")
    assign.add_argument("--experiment", required=True)
    assign.add_argument("--treatment-share", type=share)
    assign.add_argument("--experiments-file", type=Path)
    assign.add_argument("session_ids", nargs="+")
    assign.add_argument("--json", action="store_true")
    assign.set_defaults(func=cmd_assign)

    rebuild = ab.add_parser("rebuild-totals", help="recompute an experiment's per-session totals from its request events")
    rebuild.add_argument("--experiment", required=True)
    rebuild.add_argument("--warehouse-uri", help="default: MANGAEVAL_WAREHOUSE_URI, else data/warehouse.duckdb")
    rebuild.set_defaults(func=cmd_rebuild_totals)

    publish = ab.add_parser("publish-config", help="publish the experiments config the chatbot reads")
    publish.add_argument("--store-uri", help="s3://bucket/prefix or a folder (default: MANGAEVAL_ROUTING_URI, else the data folder)")
    publish.add_argument("--endpoint-url", help="S3 endpoint (a local S3 server)")
    publish.add_argument("--experiments-file", type=Path)
    publish.add_argument("--json", action="store_true")
    publish.set_defaults(func=cmd_publish)
