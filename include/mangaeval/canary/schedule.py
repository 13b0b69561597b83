"""How long each stage will take, said before any traffic moves: per stage, the canary requests a window brings
at the configured volume (messages a day x the covered intents' shares x the stage's traffic share), the sample
the judge will need (power.py, under the policy's planning assumptions), and so the expected duration: the window,
plus as many whole extensions as it takes to reach that sample, bounded by the stage's `max_minutes`.

The last stage (100%) is compared with the previous stage's baseline, whose size is fixed by how long that stage
ran: its need follows from it. Live looks also wait for the event loader's watermark (minutes when ab_analysis
loads as event files land; up to ~65 min after a window closes with hourly loads only): that is time on the wall
clock, not traffic, and is not in these figures."""

from __future__ import annotations

import math
from typing import Any

from mangaeval.canary import power
from mangaeval.canary.judge import json_ready
from mangaeval.canary.policy import CanaryPolicy
from mangaeval.traffic import messages_per_day, requests_per_minute


def minutes_to_reach(needed: float, per_minute: float, window: float, extension: float) -> float:
    """The window, or the window plus whole extensions until `needed` canary requests are expected (inf: never)."""
    if math.isinf(needed) or per_minute <= 0:
        return math.inf if needed > 0 else window  # inf: json_ready makes it None in the schedule
    wanted = needed / per_minute
    if wanted <= window:
        return window
    if extension <= 0:
        return math.inf
    return window + math.ceil((wanted - window) / extension - 1e-9) * extension


def stage_schedule(policy: CanaryPolicy, intents: list[str] | None = None, per_day: float | None = None) -> dict[str, Any]:
    """The plan of every stage at the configured (or given) volume on the covered intents ("*"/empty = all)."""
    per_day = messages_per_day(per_day)
    total = requests_per_minute(intents, per_day)
    spreads = power.planning_spreads(policy)
    stages, previous_baseline, elapsed, feasible = [], None, 0.0, True
    for stage in policy.stages:
        share = stage.traffic_pct / 100
        canary_rate, baseline_rate = total * share, total * (1 - share)
        fixed = stage.traffic_pct >= 100 and previous_baseline is not None
        if fixed:
            def baseline_for(n: float, b=previous_baseline) -> float:
                return b
        else:
            def baseline_for(n: float, k=baseline_rate / canary_rate if canary_rate else 0.0) -> float:
                return n * k
        needs = {name: power.needed_canary_requests(name, spreads, baseline_for, policy) for name in power.TESTS}
        needed = max([policy.min_requests_per_side] + list(needs.values()))
        binding = max(needs, key=needs.get) if max(needs.values()) >= policy.min_requests_per_side else "min_requests_per_side"
        minutes = minutes_to_reach(needed, canary_rate, stage.window_minutes, policy.extension_minutes)
        reachable = minutes <= stage.max_minutes
        ran = minutes if reachable else stage.max_minutes  # an unreachable stage runs to its maximum, then rolls back
        canary_n = canary_rate * ran
        baseline_n = previous_baseline if fixed else baseline_rate * ran
        at = power.power_report(spreads, canary_n, baseline_n or 0.0, fixed, policy)
        stages.append({
            "stage": stage.index, "traffic_pct": stage.traffic_pct, "canary_per_minute": canary_rate, "baseline_per_minute": baseline_rate,
            "window_minutes": stage.window_minutes, "canary_per_window": canary_rate * stage.window_minutes,
            "needed_canary_requests": needed, "binding_test": binding, "expected_minutes": minutes, "max_minutes": stage.max_minutes,
            "reachable": reachable, "expected_canary_requests": canary_n, "baseline_requests": baseline_n,
            "baseline_from": "previous stage" if fixed else "this stage",
            "detectable": {name: t["detectable"] for name, t in at["tests"].items()}})
        feasible = feasible and reachable
        elapsed += ran
        if not reachable:
            break  # the rollout rolls back here: later stages never run
        previous_baseline = baseline_rate * ran
    # JSON-ready (the plan document travels through XCom): a need no window can meet is None, as is an unreachable total.
    return json_ready({"intents": list(intents or ["*"]), "messages_per_day": per_day, "requests_per_minute": total,
                       "power": policy.power, "stages": stages, "feasible": feasible, "total_minutes": elapsed if feasible else None})


def _duration(minutes: float | None) -> str:
    if minutes is None or math.isinf(minutes):
        return "never"
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _count(value: float | None) -> str:
    return "never" if value is None else f"{value:,.0f}"


WATERMARK_NOTE = ("live looks also wait for the event loader's watermark: minutes when it loads as event files land, "
                  "up to ~65 min each with hourly loads only")


def schedule_lines(schedule: dict[str, Any]) -> list[str]:
    """The schedule as text (the CLI, the DAG's plan log)."""
    lines = [f"canary plan for {', '.join(schedule['intents'])}: {schedule['requests_per_minute']:,.1f} requests/min at "
             f"{schedule['messages_per_day']:,.0f} messages/day; each test at power {schedule['power']:.0%} on its margin",
             f"{'stage':>5} {'traffic':>7} {'canary/min':>10} {'per window':>15} {'needed':>7} {'binding':>12} {'expected':>9} "
             f"{'max':>7}  detectable at the expected sample (quality drop, P95 ratio, error rate)"]
    for s in schedule["stages"]:
        d = s["detectable"]
        shown = (f"{d['quality']:.1%}, {d['latency']:.2f}, {d['error_rate']:.1%}" if d["quality"] is not None else "-")
        lines.append(f"{s['stage']:>5} {s['traffic_pct']:>6g}% {s['canary_per_minute']:>10.1f} "
                     f"{s['canary_per_window']:>8,.0f} ({s['window_minutes']:g}m) {_count(s['needed_canary_requests']):>7} {s['binding_test']:>12} "
                     f"{_duration(s['expected_minutes']):>9} {_duration(s['max_minutes']):>7}  {shown}"
                     + ("" if s["reachable"] else "  <- not reachable within max_minutes: the rollout would roll back here"))
    if schedule["feasible"]:
        lines.append(f"full rollout: {_duration(schedule['total_minutes'])} of traffic; {WATERMARK_NOTE}")
    else:
        lines.append(f"full rollout: not reachable at this volume within the stages' max_minutes; {WATERMARK_NOTE}")
    return lines
