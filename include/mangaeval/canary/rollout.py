"""One rollout, stage by stage: publish the stage's split, watch its window, judge, act.

PROMOTE moves to the next stage (the last one completes the rollout); ROLLBACK makes version 0 of the split
current at once and records why; HOLD extends the window (up to `max_extensions`), then rolls back. The same
code runs in the DAG (one task per stage, events in the warehouse) and in the demo (everything in memory).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Protocol

import numpy as np

from mangaeval.canary import split
from mangaeval.canary.judge import HOLD, PROMOTE, ROLLBACK, judge
from mangaeval.canary.policy import CanaryPolicy, Stage
from mangaeval.canary.sides import Side
from mangaeval.canary.simulator import Draw, SimulatedTraffic
from mangaeval.objectstore import ObjectStore

Window = tuple[datetime, datetime]


@dataclass
class RolloutPlan:
    rollout_id: str
    candidate_config_id: str
    intents: list[str]
    policy: CanaryPolicy
    origin: datetime  # naive UTC: when the first window opens (simulated clock) or the trigger time (live)
    mode: str = "live"  # live | simulate
    scenario: str | None = None
    seed: int = 0
    time_scale: float = 1.0  # wall seconds per window second: 0 compresses every window to nothing (demos, tests)
    warmup_requests: int = 500

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["policy"] = self.policy.to_dict()
        doc["origin"] = self.origin.isoformat()
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "RolloutPlan":
        return cls(**{**doc, "policy": CanaryPolicy.from_dict(doc["policy"]), "origin": datetime.fromisoformat(doc["origin"])})


@dataclass
class StageOutcome:
    stage: int
    traffic_pct: float
    verdict: str
    action: str  # promote | complete | rollback
    reasons: list[str]
    judgement: dict[str, Any]
    window_start: datetime
    window_end: datetime
    baseline_window: Window
    decided_at: datetime
    split_version: int
    looks: list[dict[str, Any]] = field(default_factory=list)  # every judgement of this stage, HOLDs included
    candidate_served: int = 0  # simulator state carried to the next stage

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        for name in ("window_start", "window_end", "decided_at"):
            doc[name] = getattr(self, name).isoformat()
        doc["baseline_window"] = [t.isoformat() for t in self.baseline_window]
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "StageOutcome":
        values = dict(doc)
        for name in ("window_start", "window_end", "decided_at"):
            values[name] = datetime.fromisoformat(doc[name])
        values["baseline_window"] = tuple(datetime.fromisoformat(t) for t in doc["baseline_window"])
        return cls(**values)


class Feed(Protocol):
    def open_slice(self, stage: Stage, part: int, start: datetime, end: datetime) -> None:
        """Traffic for [start, end) of the stage's window: the simulator makes it; live traffic needs nothing."""

    def sides(self, baseline_window: Window, canary_window: Window) -> tuple[Side, Side]:
        ...


class Clock:
    """Simulated (advances by whole windows, sleeping window x time_scale) or live (the wall clock)."""

    def __init__(self, start: datetime | None, time_scale: float = 1.0, sleep: Callable[[float], None] = time.sleep):
        self.simulated, self.t, self.time_scale, self.sleep = start is not None, start, time_scale, sleep

    def now(self) -> datetime:
        return self.t if self.simulated else datetime.now(timezone.utc).replace(tzinfo=None)

    def window(self, minutes: float) -> timedelta:
        # A simulated window always covers its full length of traffic; a live one is compressed by time_scale.
        return timedelta(minutes=minutes if self.simulated else minutes * self.time_scale)

    def wait_until(self, moment: datetime) -> None:
        if self.simulated:
            if self.time_scale > 0:
                self.sleep((moment - self.t).total_seconds() * self.time_scale)
            self.t = max(self.t, moment)
            return
        while (left := (moment - self.now()).total_seconds()) > 0:
            self.sleep(min(left, 60.0))


def side_of(draws: list[Draw]) -> Side:
    if not draws:
        return Side()
    error = np.concatenate([d.error for d in draws])
    ok = ~error
    return Side.from_arrays(requests=len(error), errors=int(error.sum()), quality=np.concatenate([d.quality for d in draws])[ok],
                            cost=np.concatenate([d.cost_usd for d in draws])[ok], latencies=np.concatenate([d.latency_ms for d in draws])[ok])


class MemoryFeed:
    """Simulated traffic kept in memory (the demo, the false-rollback benchmark)."""

    def __init__(self, traffic: SimulatedTraffic):
        self.traffic = traffic
        self.slices: list[tuple[datetime, datetime, Draw, Draw]] = []

    def open_slice(self, stage: Stage, part: int, start: datetime, end: datetime) -> None:
        baseline, canary = self.traffic.window(stage.index, part, stage.traffic_pct, start, (end - start).total_seconds())
        self.slices.append((start, end, baseline, canary))

    def sides(self, baseline_window: Window, canary_window: Window) -> tuple[Side, Side]:
        def within(window: Window, which: int) -> list[Draw]:
            return [s[which] for s in self.slices if s[0] >= window[0] and s[1] <= window[1]]

        return side_of(within(baseline_window, 2)), side_of(within(canary_window, 3))


Sink = Callable[[RolloutPlan, StageOutcome], None]


def run_stage(plan: RolloutPlan, index: int, store: ObjectStore, feed: Feed, clock: Clock, sinks: list[Sink] = (),
              previous: StageOutcome | None = None, candidate_served: Callable[[], int] = lambda: 0) -> StageOutcome:
    policy = plan.policy
    stage = policy.stage(index)
    published = split.advance(store, plan.rollout_id, index, stage.traffic_pct, plan.candidate_config_id, plan.intents)
    start = clock.now()
    end = start + clock.window(stage.window_minutes)
    feed.open_slice(stage, 0, start, end)
    looks: list[dict[str, Any]] = []
    part = 0
    while True:
        clock.wait_until(end)
        # At 100% the baseline serves nothing: compare against its traffic in the previous stage's window.
        baseline_window = (start, end) if stage.traffic_pct < 100 or previous is None else previous.baseline_window
        baseline, canary = feed.sides(baseline_window, (start, end))
        judgement = judge(baseline, canary, policy)
        looks.append({"window_end": end.isoformat(), "verdict": judgement.verdict, "reasons": judgement.reasons})
        if judgement.verdict != HOLD or part >= policy.max_extensions:
            break
        part += 1
        extended = end + clock.window(policy.extension_minutes)
        feed.open_slice(stage, part, end, extended)
        end = extended
    reasons = list(judgement.reasons)
    if judgement.verdict == PROMOTE:
        action = "complete" if index == len(policy.stages) else "promote"
    else:
        action = "rollback"
        if judgement.verdict == HOLD:
            reasons = [f"still HOLD after {part} extension(s) of the window: rolling back"] + reasons
        split.rollback(store, plan.rollout_id, reasons, index, at=clock.now())
    outcome = StageOutcome(index, stage.traffic_pct, judgement.verdict, action, reasons, judgement.to_dict(), start, end,
                           baseline_window, clock.now(), published["version"] if action != "rollback" else 0, looks,
                           candidate_served())
    for sink in sinks:
        sink(plan, outcome)
    return outcome


def warm_up_summary(warm: Draw) -> dict[str, Any]:
    """Warm-up latencies are recorded, never judged: their summary is reported beside the rollout."""
    latencies = warm.latency_ms[~warm.error]
    summary: dict[str, Any] = {"requests": len(warm), "errors": int(warm.error.sum())}
    if len(latencies):
        summary.update({"p50_ms": float(np.percentile(latencies, 50)), "p95_ms": float(np.percentile(latencies, 95)),
                        "max_ms": float(latencies.max())})
    return summary


def simulate_rollout(plan: RolloutPlan, traffic: SimulatedTraffic, store: ObjectStore, sinks: list[Sink] = ()) -> dict[str, Any]:
    """The whole rollout in one process on simulated traffic: start, warm-up, then stages until one does not promote."""
    clock = Clock(plan.origin, plan.time_scale)
    split.start(store, plan.rollout_id, plan.candidate_config_id, plan.intents)
    warm = traffic.warm_up(plan.warmup_requests, plan.origin)
    feed = MemoryFeed(traffic)
    outcomes: list[StageOutcome] = []
    for index in range(1, len(plan.policy.stages) + 1):
        outcome = run_stage(plan, index, store, feed, clock, sinks, outcomes[-1] if outcomes else None,
                            candidate_served=lambda: traffic.candidate_served)
        outcomes.append(outcome)
        if outcome.action != "promote":
            break
    final = outcomes[-1]
    return {"rollout_id": plan.rollout_id, "warm_up": warm_up_summary(warm),
            "result": "completed" if final.action == "complete" else f"rolled back at stage {final.stage}",
            "stages": outcomes}


__all__ = ["RolloutPlan", "StageOutcome", "Clock", "MemoryFeed", "run_stage", "simulate_rollout", "PROMOTE", "HOLD", "ROLLBACK"]
