"""One rollout, stage by stage: publish the stage's split, watch its window, judge, act.

PROMOTE moves to the next stage (the last one completes the rollout); ROLLBACK makes version 0 of the split
current at once and records why; HOLD extends the window (by enough whole extension steps to reach the sample
the judge needs at the rate seen so far) until the stage's `max_minutes`, then rolls back. A window is judged
only once its events are complete (the feed's watermark has passed its end). The same code runs in the DAG
(one task per stage, events in the warehouse) and in the demo (everything in memory).

A stage is a small state machine (`open_stage`, then `advance_stage` until it returns the outcome): each call runs
until the next wait (the window's end, or a pause while the events are not all in) and returns it as a `Wait`
instead of sleeping, with the stage's `StageState` (small, JSON-ready) holding everything needed to go on. So
the stage can wait where the caller likes: `run_stage` sleeps through each wait on its `Clock` (the demo, the
CLI, the tests); the DAG's operator hands each wait to Airflow's triggerer and resumes from the state.
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

    def wall_seconds_until(self, moment: datetime) -> float:
        """Wall-clock seconds until `moment` (<= 0: no wait): a simulated wait lasts its length x time_scale."""
        if self.simulated:
            return (moment - self.t).total_seconds() * self.time_scale
        return (moment - self.now()).total_seconds()

    def skip_to(self, moment: datetime) -> None:
        """The wait for `moment` is over (someone else did it, e.g. Airflow's triggerer): simulated time is there."""
        if self.simulated:
            self.t = max(self.t, moment)


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


WINDOW, EVENTS = "window", "events"  # what a stage waits for: its window's end, then its events to be complete


@dataclass
class StageState:
    """A stage between two waits: what it published, its window so far, its looks. Small and JSON-ready: it travels
    through an Airflow deferral (the operator's resume kwargs) and is all a resumed stage needs."""
    stage: int
    split_version: int  # the split version the stage published
    start: datetime
    end: datetime  # the window's end so far (a HOLD extends it)
    minutes: float  # policy minutes of traffic watched so far (a live window may be compressed by time_scale)
    part: int = 0  # window slices opened after the first (one per extension)
    phase: str = WINDOW
    events_since: datetime | None = None  # when the wait for complete events began (clock time)
    looks: list[dict[str, Any]] = field(default_factory=list)
    clock: datetime | None = None  # the simulated clock's time (None: the wall clock)
    candidate_served: int = 0  # simulator state: the candidate's requests so far (its cold start)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        for name in ("start", "end", "events_since", "clock"):
            doc[name] = getattr(self, name).isoformat() if getattr(self, name) else None
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "StageState":
        values = {**doc, "looks": list(doc.get("looks", []))}  # a list of its own: advancing never changes `doc`
        for name in ("start", "end", "events_since", "clock"):
            values[name] = datetime.fromisoformat(doc[name]) if doc.get(name) else None
        return cls(**values)


@dataclass(frozen=True)
class Wait:
    """Where a stage stops until `until` (clock time): the end of its window, or the next look for complete events."""
    until: datetime
    reason: str  # WINDOW | EVENTS


def open_stage(plan: RolloutPlan, index: int, store: ObjectStore, feed: Feed, clock: Clock,
               candidate_served: Callable[[], int] = lambda: 0) -> StageState:
    """Publish the stage's split and open its window's first slice of traffic."""
    stage = plan.policy.stage(index)
    published = split.advance(store, plan.rollout_id, index, stage.traffic_pct, plan.candidate_config_id, plan.intents)
    start = clock.now()
    minutes = stage.window_minutes
    end = start + clock.window(minutes)
    feed.open_slice(stage, 0, start, end)
    return StageState(index, published["version"], start, end, minutes, clock=clock.now() if clock.simulated else None,
                      candidate_served=candidate_served())


def advance_stage(plan: RolloutPlan, state: StageState, store: ObjectStore, feed: Feed, clock: Clock, sinks: list[Sink] = (),
                  previous: StageOutcome | None = None, candidate_served: Callable[[], int] = lambda: 0) -> StageOutcome | Wait:
    """Go on from `state` (updated in place) until the next wait, returned as a Wait, or to the stage's outcome.
    Call again once the clock has reached the wait's `until`."""
    policy, index = plan.policy, state.stage
    stage = policy.stage(index)
    # At 100% the baseline serves nothing: compare against its traffic in the previous stage's window, which no
    # longer grows with the canary's.
    baseline_fixed = stage.traffic_pct >= 100 and previous is not None
    while True:
        if state.phase == WINDOW:
            if clock.now() < state.end:
                return _waiting(state, clock, Wait(state.end, WINDOW), candidate_served)
            state.phase, state.events_since = EVENTS, clock.now()
        baseline_window = previous.baseline_window if baseline_fixed else (state.start, state.end)
        # A window is judged only once its events are complete (the feed's watermark has reached its end), waiting at
        # most the policy's timeout, looking again every POLL_SECONDS.
        waited = (clock.now() - state.events_since).total_seconds() / 60
        mark = feed.complete_through()
        if mark is not None and mark >= state.end:
            baseline, canary = feed.sides(baseline_window, (state.start, state.end))
            judgement = judge(baseline, canary, policy, baseline_fixed=baseline_fixed)
        else:
            left = (state.events_since + clock.window(policy.watermark_timeout_minutes) - clock.now()).total_seconds()
            if left > 0:
                return _waiting(state, clock, Wait(clock.now() + timedelta(seconds=min(left, POLL_SECONDS)), EVENTS), candidate_served)
            judgement = incomplete(state.end, mark, waited)
        state.looks.append(json_ready({"window_end": state.end.isoformat(), "minutes": state.minutes, "verdict": judgement.verdict,
                                       "reasons": judgement.reasons, "canary_requests": judgement.samples.get("canary_requests"),
                                       "needed_canary_requests": judgement.samples.get("needed_canary_requests")}))
        step = next_extension(judgement, state.minutes, stage, policy) if judgement.verdict == HOLD else 0.0
        if step <= 0:
            return _outcome(plan, state, judgement, baseline_window, store, clock, sinks, candidate_served)
        state.part += 1
        extended = state.end + clock.window(step)
        feed.open_slice(stage, state.part, state.end, extended)
        state.end, state.minutes, state.phase, state.events_since = extended, state.minutes + step, WINDOW, None


def _waiting(state: StageState, clock: Clock, wait: Wait, candidate_served: Callable[[], int]) -> Wait:
    state.clock = clock.now() if clock.simulated else None
    state.candidate_served = candidate_served()
    return wait


def _outcome(plan: RolloutPlan, state: StageState, judgement: Judgement, baseline_window: Window, store: ObjectStore, clock: Clock,
             sinks: list[Sink], candidate_served: Callable[[], int]) -> StageOutcome:
    """The stage's action from its last look: PROMOTE moves on (or completes), anything else rolls back now."""
    policy, index = plan.policy, state.stage
    stage = policy.stage(index)
    reasons = list(judgement.reasons)
    if judgement.verdict == PROMOTE:
        action = "complete" if index == len(policy.stages) else "promote"
    else:
        action = "rollback"
        if judgement.verdict == HOLD:
            at_max = state.minutes >= stage.max_minutes - 1e-9
            why = f"the stage's maximum of {stage.max_minutes:g} min" if at_max else "no longer window can reach the needed sample"
            reasons = [f"still HOLD after {state.minutes:g} min ({state.part} extension(s)), {why}: rolling back"] + reasons
        split.rollback(store, plan.rollout_id, reasons, index, at=clock.now())
    outcome = StageOutcome(index, stage.traffic_pct, judgement.verdict, action, reasons, judgement.to_dict(), state.start, state.end,
                           baseline_window, clock.now(), state.split_version if action != "rollback" else 0, state.looks,
                           candidate_served())
    for sink in sinks:
        sink(plan, outcome)
    return outcome


def run_stage(plan: RolloutPlan, index: int, store: ObjectStore, feed: Feed, clock: Clock, sinks: list[Sink] = (),
              previous: StageOutcome | None = None, candidate_served: Callable[[], int] = lambda: 0) -> StageOutcome:
    """The stage straight through in this process, sleeping through each wait on `clock`."""
    state = open_stage(plan, index, store, feed, clock, candidate_served)
    while isinstance(step := advance_stage(plan, state, store, feed, clock, sinks, previous, candidate_served), Wait):
        clock.wait_until(step.until)
    return step


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


__all__ = ["RolloutPlan", "StageOutcome", "StageState", "Wait", "Clock", "MemoryFeed", "open_stage", "advance_stage", "run_stage",
           "simulate_rollout", "PROMOTE", "HOLD", "ROLLBACK"]
