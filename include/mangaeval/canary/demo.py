"""The field scenarios replayed through the stages on simulated traffic, in memory (`mangaeval canary simulate`)."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from mangaeval.canary.policy import CanaryPolicy
from mangaeval.canary.rollout import RolloutPlan, simulate_rollout
from mangaeval.canary import split
from mangaeval.canary.simulator import SCENARIOS, Scenario, SimulatedTraffic
from mangaeval.canary.warmup import WarmUpFailed
from mangaeval.errors import MangaEvalError
from mangaeval.objectstore import LocalStore, ObjectStore

DEMO_ORIGIN = datetime(2026, 11, 24, 10, 0)


def scenario_plan(scenario: Scenario, policy: CanaryPolicy, seed: int, rollout_id: str | None = None) -> RolloutPlan:
    warmup = policy.warmup_requests if scenario.warmup_requests is None else scenario.warmup_requests
    return RolloutPlan(rollout_id or f"demo-{scenario.name}-{seed}", scenario.candidate.config_id, list(scenario.intents) or ["*"],
                       policy, DEMO_ORIGIN, mode="simulate", scenario=scenario.name, seed=seed, time_scale=0.0, warmup_requests=warmup)


def run_scenario(name: str | Scenario, policy: CanaryPolicy, seed: int = 1, store: ObjectStore | None = None,
                 rollout_id: str | None = None) -> dict[str, Any]:
    scenario = name if isinstance(name, Scenario) else SCENARIOS.get(name)
    if scenario is None:
        raise MangaEvalError(f"scenario {name!r}: expected one of {sorted(SCENARIOS)}")
    plan = scenario_plan(scenario, policy, seed, rollout_id)
    if store is None:
        with tempfile.TemporaryDirectory(prefix="canary-demo-") as folder:
            return run_scenario(scenario, policy, seed, LocalStore(Path(folder)), rollout_id)
    try:
        result = simulate_rollout(plan, SimulatedTraffic(scenario, seed), store)
    except WarmUpFailed as exc:  # the rollout stopped before any live traffic: say so, as the DAG would
        found = split.current(store)
        result = {"rollout_id": plan.rollout_id, "warm_up": {"requests": plan.warmup_requests, "failed": str(exc)},
                  "result": "stopped at the warm-up, before any live traffic", "stages": [],
                  "split_version": found[0]["version"] if found else None}
    return {"scenario": scenario.name, "title": scenario.title, "expected": scenario.expected, "intents": list(scenario.intents) or ["*"],
            "warmup_requests": plan.warmup_requests, **result}


def stage_line(outcome) -> str:
    m = outcome.judgement["metrics"]
    q, lat = m.get("quality", {}), m.get("latency", {})
    figures = []
    if q.get("canary_value") is not None:
        figures.append(f"quality {q['canary_value']:.3f} vs {q['baseline_value']:.3f}")
    if lat.get("canary_value") is not None:
        figures.append(f"P95 {lat['canary_value']:,.0f} vs {lat['baseline_value']:,.0f} ms")
    s = outcome.judgement["samples"]
    holds = sum(1 for look in outcome.looks if look["verdict"] == "HOLD")
    minutes = outcome.looks[-1].get("minutes") if outcome.looks else None
    sample = f"n={s['canary_requests']:,}/{s['baseline_requests']:,}" if "canary_requests" in s else "n=-"
    return (f"  stage {outcome.stage} ({outcome.traffic_pct:g}%): {outcome.verdict:<8} -> {outcome.action:<8} "
            f"{sample}  {', '.join(figures)}" + (f"  after {minutes:g} min" if minutes is not None else "")
            + (f" ({holds} HOLD)" if holds else "") + ("" if outcome.verdict == "PROMOTE" else f"\n      why: {'; '.join(outcome.reasons)}"))


def scenario_text(result: dict[str, Any]) -> str:
    warm = result["warm_up"]
    lines = [f"({result['scenario']}) {result['title']} on {', '.join(result['intents'])}: expected {result['expected']}"]
    if warm.get("failed"):
        lines.append(f"  warm-up: {warm['failed']}")
    else:
        lines.append(f"  warm-up: {warm['requests']} synthetic requests"
                     + (f", P95 {warm['p95_ms']:,.0f} ms (recorded, not judged)" if warm.get("p95_ms") is not None else ""))
    lines += [stage_line(o) for o in result["stages"]]
    lines.append(f"  result: {result['result']}")
    return "\n".join(lines)


def scenario_json(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "stages": [o.to_dict() for o in result["stages"]]}

