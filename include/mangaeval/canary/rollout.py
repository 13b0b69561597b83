"""One rollout, stage by stage: publish the stage's split, watch its window, judge, act.

PROMOTE moves to the next stage (the last one completes the rollout); ROLLBACK makes version 0 of the split
current at once and records why; HOLD extends the window (by enough whole extension steps to reach the sample
the judge needs at the rate seen so far) until the stage's `max_minutes`, then rolls back. A window is judged
only once its events are complete (the feed's watermark has passed its end). The same code runs in the DAG
(one task per stage, events in the warehouse) and in the demo (everything in memory).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Protocol

import numpy as np

from mangaeval.canary import split
from mangaeval.canary.judge import HOLD, PROMOTE, ROLLBACK, Judgement, json_ready, judge
from mangaeval.canary.policy import CanaryPolicy, Stage
from mangaeval.canary.sides import Side
from mangaeval.canary.simulator import Draw, SimulatedTraffic
from mangaeval.canary.warmup import check_warm_up
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

    def complete_through(self) -> datetime | None:
        """The watermark: every request event before this time is in (None: nothing known to be complete)."""


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

    def pause(self, seconds: float) -> None:
        """Wait a while (polling for complete events): simulated time moves on, live time is slept."""
        if self.simulated:
            self.wait_until(self.t + timedelta(seconds=seconds))
        else:
            self.sleep(seconds)


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

    def complete_through(self) -> datetime | None:
        return max((s[1] for s in self.slices), default=None)  # a slice is drawn whole: complete once opened


Sink = Callable[[RolloutPlan, StageOutcome], None]
POLL_SECONDS = 60.0


def wait_for_events(feed: Feed, clock: Clock, through: datetime, policy: CanaryPolicy) -> tuple[bool, datetime | None, float]:
    """Wait until the feed's watermark reaches `through` (no request event before it is still expected), at most
    the policy's timeout. (complete?, the watermark, minutes waited)."""
    started = clock.now()
    deadline = started + clock.window(policy.watermark_timeout_minutes)
    while True:
        mark = feed.complete_through()
        if mark is not None and mark >= through:
            return True, mark, (clock.now() - started).total_seconds() / 60
        left = (deadline - clock.now()).total_seconds()
        if left <= 0:
            return False, mark, (clock.now() - started).total_seconds() / 60
        clock.pause(min(left, POLL_SECONDS))


def incomplete(through: datetime, mark: datetime | None, waited: float) -> Judgement:
    """A look whose events are not all in: nothing is judged on part of a window."""
    seen = f"the watermark is at {mark.isoformat(sep=' ')}" if mark else "no watermark recorded"
    return Judgement(HOLD, [f"events incomplete: the window ends at {through.isoformat(sep=' ')} but {seen} "
                            f"(waited {waited:.0f} min for the event loader); not judged on part of the window"], {},
                     {"events_complete_through": mark.isoformat() if mark else None})


def next_extension(judgement: Judgement, minutes: float, stage: Stage, policy: CanaryPolicy) -> float:
    """Policy minutes to extend a HOLD by: enough whole extension steps to reach the needed canary sample at the
    rate seen so far (one step when the HOLD is for another reason), never past the stage's `max_minutes`.
    0: stop here (at the maximum, or a need no window can meet)."""
    room, step = stage.max_minutes - minutes, policy.extension_minutes
    if room <= 1e-9 or step <= 0:
        return 0.0
    samples = judgement.samples
    needed, reached = samples.get("needed_canary_requests"), samples.get("canary_requests", 0)
    if needed is not None and reached < needed:
        if math.isinf(needed):
            if (samples.get("power") or {}).get("baseline_fixed"):
                return 0.0  # the previous stage's baseline is too small for the margins: more canary traffic cannot help
        elif reached > 0 and minutes > 0:
            wanted = (needed - reached) / (reached / minutes)
            step = math.ceil(wanted / step - 1e-9) * step
    return min(step, room)


def run_stage(plan: RolloutPlan, index: int, store: ObjectStore, feed: Feed, clock: Clock, sinks: list[Sink] = (),
              previous: StageOutcome | None = None, candidate_served: Callable[[], int] = lambda: 0) -> StageOutcome:
    policy = plan.policy
    stage = policy.stage(index)
    published = split.advance(store, plan.rollout_id, index, stage.traffic_pct, plan.candidate_config_id, plan.intents)
    start = clock.now()
    minutes = stage.window_minutes  # policy minutes of traffic watched so far (a live window may be compressed by time_scale)
    end = start + clock.window(minutes)
    feed.open_slice(stage, 0, start, end)
    # At 100% the baseline serves nothing: compare against its traffic in the previous stage's window, which no
    # longer grows with the canary's.
    baseline_fixed = stage.traffic_pct >= 100 and previous is not None
    looks: list[dict[str, Any]] = []
    part = 0
    while True:
        clock.wait_until(end)
        baseline_window = previous.baseline_window if baseline_fixed else (start, end)
        complete, mark, waited = wait_for_events(feed, clock, end, policy)
        if complete:
            baseline, canary = feed.sides(baseline_window, (start, end))
            judgement = judge(baseline, canary, policy, baseline_fixed=baseline_fixed)
        else:
            judgement = incomplete(end, mark, waited)
        looks.append(json_ready({"window_end": end.isoformat(), "minutes": minutes, "verdict": judgement.verdict,
                                 "reasons": judgement.reasons, "canary_requests": judgement.samples.get("canary_requests"),
                                 "needed_canary_requests": judgement.samples.get("needed_canary_requests")}))
        step = next_extension(judgement, minutes, stage, policy) if judgement.verdict == HOLD else 0.0
        if step <= 0:
            break
        part += 1
        extended = end + clock.window(step)
        feed.open_slice(stage, part, end, extended)
        end, minutes = extended, minutes + step
    reasons = list(judgement.reasons)
    if judgement.verdict == PROMOTE:
        action = "complete" if index == len(policy.stages) else "promote"
    else:
        action = "rollback"
        if judgement.verdict == HOLD:
            at_max = minutes >= stage.max_minutes - 1e-9
            why = f"the stage's maximum of {stage.max_minutes:g} min" if at_max else "no longer window can reach the needed sample"
            reasons = [f"still HOLD after {minutes:g} min ({part} extension(s)), {why}: rolling back"] + reasons
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
    # Failing warm-up calls stop the rollout here, with version 0 (no canary traffic) still current.
    check_warm_up(warm.to_events(f"{plan.rollout_id}.warmup", "warmup"), plan.policy, plan.candidate_config_id)
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
