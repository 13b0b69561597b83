"""`mangaeval canary ...`: plan a rollout (how long each stage takes at the configured volume), judge a canary from
event files, replay the field scenarios, show the current split."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mangaeval.errors import MangaEvalError


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def load_side(path: Path, arm: str) -> tuple[Any, dict[str, Any]]:
    """One side's rows from a request-event file: the file's `arm` rows when it holds both arms, else all of them."""
    from mangaeval.events.schema import format_problems, parse_file

    parsed = parse_file(path, "requests")
    rows = parsed.rows
    arms = set(rows["arm"])
    if len(arms) > 1:
        rows = rows[rows["arm"] == arm]
    info = {"file": str(path), "rows": len(rows), "quarantined": len(parsed.quarantined), "problems": format_problems(parsed, 10)}
    return rows, info


def policy_from_args(args: argparse.Namespace):
    from mangaeval.canary.policy import load_policy

    return load_policy(args.policy).with_overrides(
        min_requests_per_side=args.min_requests, power=args.power, alpha=args.alpha, fail_alpha_per_stage=args.fail_alpha,
        quality_max_relative_drop=args.max_drop, quality_floor=args.floor, latency_max_ratio=args.latency_ratio,
        latency_sla_ms=args.sla_ms, error_ceiling=args.error_ceiling, cost_budget_ratio=args.budget_ratio)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def cmd_judge(args: argparse.Namespace) -> int:
    from mangaeval.canary.judge import judge
    from mangaeval.canary.sides import Side

    policy = policy_from_args(args)
    baseline_rows, baseline_info = load_side(args.baseline, "control")
    canary_rows, canary_info = load_side(args.canary, "treatment")
    for info in (baseline_info, canary_info):
        if info["quarantined"]:
            print(f"{info['file']}: {info['quarantined']} malformed row(s) quarantined, not judged:", file=sys.stderr)
            for problem in info["problems"]:
                print(f"  {problem}", file=sys.stderr)
    judgement = judge(Side.from_events(baseline_rows), Side.from_events(canary_rows), policy)
    doc = {**judgement.to_dict(), "inputs": {"baseline": baseline_info, "canary": canary_info}}
    if args.json:
        _print_json(doc)
        return 0
    print(f"verdict: {doc['verdict']}")
    for reason in doc["reasons"]:
        print(f"  - {reason}")
    print(f"{'metric':<17} {'status':<13} {'baseline':>10} {'canary':>10}  thresholds")
    for name, metric in doc["metrics"].items():
        thresholds = ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in metric.get("thresholds", {}).items())
        print(f"{name:<17} {metric['status']:<13} {_fmt(metric.get('baseline_value')):>10} {_fmt(metric.get('canary_value')):>10}  {thresholds}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from mangaeval.canary.policy import load_policy
    from mangaeval.canary.schedule import schedule_lines, stage_schedule

    policy = load_policy(args.policy)
    schedule = stage_schedule(policy, args.intents, args.messages_per_day)
    if args.json:
        _print_json(schedule)
    else:
        print("\n".join(schedule_lines(schedule)))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mangaeval.canary.demo import run_scenario, scenario_json, scenario_text
    from mangaeval.canary.policy import load_policy
    from mangaeval.canary.simulator import SCENARIOS
    from mangaeval.traffic import covered

    policy = load_policy(args.policy)
    names = sorted(SCENARIOS) if args.scenario == "all" else [args.scenario]
    changes = {}
    if args.intents:
        changes["intents"] = () if args.intents == ["*"] else tuple(covered(args.intents))
    if args.messages_per_day is not None:
        changes["messages_per_day"] = args.messages_per_day
    results = [run_scenario(replace(SCENARIOS[name], **changes), policy, seed=args.seed) for name in names]
    if args.json:
        _print_json([scenario_json(r) for r in results])
        return 0
    print("\n\n".join(scenario_text(r) for r in results))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from mangaeval.canary import split
    from mangaeval.objectstore import open_store

    store = open_store(args.store_uri)
    found = split.current(store)
    doc = {"store": store.uri, "current": found[0] if found else None}
    if found:
        doc["rolled_back"] = split.rolled_back(store, found[0]["rollout_id"])
    if args.json:
        _print_json(doc)
    elif not found:
        print(f"{store.uri}: no canary split published (the routing table serves all traffic)")
    else:
        d = found[0]
        print(f"rollout {d['rollout_id']} v{d['version']}: {d['canary_pct']:g}% of {', '.join(d['intents'])} to "
              f"{d['candidate_config_id']}" + (f"  (rolled back: {'; '.join(doc['rolled_back']['reasons'])})" if doc.get("rolled_back") else ""))
    return 0


def _thresholds(parser: argparse.ArgumentParser) -> None:
    from mangaeval.argtypes import positive_int

    parser.add_argument("--policy", type=Path, help="canary policy file (default include/config/canary.yaml)")
    group = parser.add_argument_group("thresholds (override the policy file)")
    group.add_argument("--min-requests", type=positive_int, help="floor of requests per side under the power-based minimum (default 100)")
    group.add_argument("--power", type=float, help="each test's target power at its margin (default 0.8)")
    group.add_argument("--alpha", type=float, help="promotion-side significance (default 0.05)")
    group.add_argument("--fail-alpha", type=float, help="rollback-side significance per stage (default 0.0125)")
    group.add_argument("--max-drop", type=float, help="largest relative quality drop allowed (default 0.05)")
    group.add_argument("--floor", type=float, help="absolute quality floor (default 0.70)")
    group.add_argument("--latency-ratio", type=float, help="P95 ratio whose lower bound must not be exceeded (default 1.10)")
    group.add_argument("--sla-ms", type=float, help="P95 SLA in ms (default 3000)")
    group.add_argument("--error-ceiling", type=float, help="absolute error-rate ceiling (default 0.05)")
    group.add_argument("--budget-ratio", type=float, help="cost-per-request ratio budget (default 1.20)")


def register(sub) -> None:
    from mangaeval.argtypes import positive_float

    canary = sub.add_parser("canary", help="canary rollouts: plan, judge a stage, replay the field scenarios, show the split")
    commands = canary.add_subparsers(dest="canary_command", required=True)

    plan = commands.add_parser("plan", help="how long each stage will take at the configured volume, and what it can detect")
    plan.add_argument("--intents", nargs="+", default=["*"], help="the intents the candidate covers (default: every intent)")
    plan.add_argument("--messages-per-day", type=positive_float, help="volume (default: routing_policy.yaml's messages_per_day)")
    plan.add_argument("--policy", type=Path, help="canary policy file (default include/config/canary.yaml)")
    plan.add_argument("--json", action="store_true")
    plan.set_defaults(func=cmd_plan)

    judge = commands.add_parser("judge", help="canary vs baseline request events: PROMOTE, HOLD or ROLLBACK")
    judge.add_argument("--baseline", type=Path, required=True, help="baseline request events (JSON Lines or Parquet)")
    judge.add_argument("--canary", type=Path, required=True, help="canary request events (JSON Lines or Parquet)")
    judge.add_argument("--json", action="store_true")
    _thresholds(judge)
    judge.set_defaults(func=cmd_judge)

    simulate = commands.add_parser("simulate", aliases=["demo"], help="replay a field scenario through the stages")
    simulate.add_argument("--scenario", choices=["a", "b", "c", "d", "e", "all"], default="all",
                          help="a-d: the field's scenarios; e: a candidate whose every call fails (its warm-up stops the rollout)")
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument("--intents", nargs="+", help="run on these intents' real traffic instead of the scenario's (recommendation)")
    simulate.add_argument("--messages-per-day", type=positive_float, help="volume (default: routing_policy.yaml's messages_per_day)")
    simulate.add_argument("--policy", type=Path, help="canary policy file (default include/config/canary.yaml)")
    simulate.add_argument("--json", action="store_true")
    simulate.set_defaults(func=cmd_simulate)

    status = commands.add_parser("status", help="the current traffic split the bot reads")
    status.add_argument("--store-uri", help="object store (s3://bucket/prefix or a folder; default MANGAEVAL_ROUTING_URI)")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)


__all__ = ["register", "MangaEvalError"]
