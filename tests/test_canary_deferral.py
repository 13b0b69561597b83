"""A canary stage that waits without holding a worker: the stage as resumable steps (its state through JSON at every
wait) gives the same outcomes as the straight-through run on the field scenarios; the DAG's operator defers each
wait with Airflow's own triggers and resumes to the same outcome (execute/resume called here, TaskDeferred caught:
no scheduler); a simulated rollout at time_scale 0 never defers; a live stage waits for its window's end on the
wall clock, then polls for complete events, each a deferral."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from airflow.sdk.exceptions import TaskDeferred

from mangaeval.canary import rollout, split, steps
from mangaeval.canary.demo import run_scenario, scenario_plan
from mangaeval.canary.operator import STATE_XCOM_KEY, TRIGGER_GRACE, CanaryStageOperator
from mangaeval.canary.policy import load_policy
from mangaeval.canary.records import store_events
from mangaeval.canary.rollout import Clock, MemoryFeed, StageState, Wait
from mangaeval.canary.simulator import BASELINE, SCENARIOS, SimulatedTraffic, draw
from mangaeval.events import watermark
from mangaeval.objectstore import LocalStore
from mangaeval.warehouse import connect
from tests.canary_helpers import like_baseline

POLICY = load_policy()
ORIGIN = "2026-11-24T10:00:00+00:00"
DATE_TRIGGER = "airflow.providers.standard.triggers.temporal.DateTimeTrigger"


def resumable_rollout(name: str, seed: int, store) -> tuple[list, int]:
    """A scenario's rollout through open_stage/advance_stage, the state through JSON and a new clock at every wait
    (as a resumed task rebuilds them), never sleeping: (outcomes, waits)."""
    plan = scenario_plan(SCENARIOS[name], POLICY, seed)
    plan.time_scale = 0.5  # every window is a wait: each one is returned instead of slept
    traffic = SimulatedTraffic(SCENARIOS[name], seed)
    split.start(store, plan.rollout_id, plan.candidate_config_id, plan.intents)
    traffic.warm_up(plan.warmup_requests, plan.origin)
    feed, outcomes, waits = MemoryFeed(traffic), [], 0
    clock = Clock(plan.origin, plan.time_scale)
    for index in range(1, len(POLICY.stages) + 1):
        previous = outcomes[-1] if outcomes else None
        state = rollout.open_stage(plan, index, store, feed, clock, lambda: traffic.candidate_served)
        while True:
            state = StageState.from_dict(json.loads(json.dumps(state.to_dict())))
            clock = Clock(state.clock, plan.time_scale)
            step = rollout.advance_stage(plan, state, store, feed, clock, [], previous, lambda: traffic.candidate_served)
            if not isinstance(step, Wait):
                break
            assert clock.wall_seconds_until(step.until) > 0 and step.reason in (rollout.WINDOW, rollout.EVENTS)
            waits += 1
            state.clock = step.until  # the wait is over: the simulated clock is there
        outcomes.append(step)
        clock = Clock(step.window_end, plan.time_scale)
        if step.action != "promote":
            break
    return outcomes, waits


@pytest.mark.parametrize("name", "abcd")
def test_resumable_steps_give_the_straight_through_outcomes_on_the_field_scenarios(name, tmp_path):
    straight = run_scenario(name, POLICY, 1, store=LocalStore(tmp_path / "straight"))["stages"]
    resumed, waits = resumable_rollout(name, 1, LocalStore(tmp_path / "resumed"))
    assert [o.to_dict() for o in resumed] == [o.to_dict() for o in straight]
    assert waits == sum(len(o.looks) for o in straight)  # one wait per window (the first, then each extension)


class RecordingTI:
    """The task instance's XCom calls the operator makes, kept in a dict (what Airflow's XCom table would hold)."""

    def __init__(self, task_id: str = "stage_1"):
        self.task_id, self.xcoms = task_id, {}

    def xcom_push(self, key, value):
        self.xcoms[(self.task_id, key)] = json.loads(json.dumps(value))  # XCom values are JSON

    def xcom_pull(self, task_ids, key="return_value"):
        return self.xcoms.get((task_ids, key))


@pytest.fixture
def stores(tmp_path, monkeypatch):
    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path / "store"))
    return tmp_path


def simulated_plan(rollout_id: str, time_scale: float, scenario: str = "c") -> dict:
    return steps.plan_rollout({"mode": "simulate", "scenario": scenario, "rollout_id": rollout_id, "time_scale": time_scale,
                               "cloudwatch": False}, "manual__x", ORIGIN)


def run_operator(op: CanaryStageOperator, context: dict, drop_kwargs: bool = False) -> tuple[dict, list[TaskDeferred]]:
    """execute, then resume after every deferral (at once: a simulated wait's clock is in the state), as the
    triggerer would once the trigger fired. drop_kwargs: resume as dag.test() of Airflow 3.3.2 does, event only."""
    deferrals = []
    try:
        return op.execute(context), deferrals
    except TaskDeferred as deferred:
        deferrals.append(deferred)
    while True:
        last = deferrals[-1]
        kwargs = {} if drop_kwargs else last.kwargs
        try:
            return op.resume(context, event=None, **kwargs), deferrals
        except TaskDeferred as deferred:
            deferrals.append(deferred)


def test_the_operator_defers_each_simulated_window_and_resumes_to_the_straight_through_outcome(stores, monkeypatch):
    doc = simulated_plan("r-op", 0.01, scenario="a")
    steps.start_rollout(doc)
    warm = steps.warm_up(doc)
    context = {"ti": RecordingTI()}
    op = CanaryStageOperator(task_id="stage_1", plan_doc=doc, warm=warm, previous=None, index=1)
    # Resumed as dag.test() of Airflow 3.3.2 resumes (the trigger's event only): from the state in the XCom.
    outcome, deferrals = run_operator(op, context, drop_kwargs=True)
    first = deferrals[0]
    classpath, kwargs = first.trigger.serialize()  # TimeDeltaTrigger serialises as a DateTimeTrigger (a moment)
    assert classpath == DATE_TRIGGER and first.method_name == "resume" and set(first.kwargs) == {"state"}
    wall = 30 * 60 * 0.01  # the 30-minute window at time_scale 0.01: 18 s on the wall clock
    assert abs((kwargs["moment"] - datetime.now(timezone.utc)).total_seconds() - wall) < 5
    assert first.timeout == timedelta(seconds=wall) + TRIGGER_GRACE
    assert json.loads(json.dumps(first.kwargs["state"])) == first.kwargs["state"]  # small JSON, as the deferral stores it
    assert first.kwargs["state"]["phase"] == "window" and first.kwargs["state"]["clock"] == "2026-11-24T10:30:00"
    assert len(deferrals) == len(outcome["looks"])  # one deferral per window (the first, then each extension)
    assert context["ti"].xcoms[("stage_1", STATE_XCOM_KEY)] == deferrals[-1].kwargs["state"]

    assert outcome["verdict"] == "PROMOTE" and outcome["action"] == "promote"

    # The same stage straight through, sleeping nowhere (time_scale 0), in a split store of its own.
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(stores / "straight"))
    other = {**doc, "time_scale": 0.0}
    steps.start_rollout(other)
    assert outcome == steps.stage(other, 1, steps.warm_up(other), None)


def test_a_rolled_back_stage_deferred_or_not_and_the_stage_after_it_skipped(stores, monkeypatch):
    from airflow.sdk.exceptions import AirflowSkipException

    outcomes = {}
    for time_scale in (0.001, 0.0):  # at time_scale 0 a simulated stage never waits, so it never defers
        monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(stores / f"store-{time_scale}"))
        doc = simulated_plan("r-op-c", time_scale)
        steps.start_rollout(doc)
        warm = steps.warm_up(doc)
        op = CanaryStageOperator(task_id="stage_1", plan_doc=doc, warm=warm, previous=None, index=1)
        outcomes[time_scale], deferrals = run_operator(op, {"ti": RecordingTI()})
        assert len(deferrals) == (1 if time_scale else 0)
        assert split.current(LocalStore(stores / f"store-{time_scale}"))[0]["version"] == 0  # rolled back
    assert outcomes[0.001] == outcomes[0.0] and outcomes[0.0]["verdict"] == "ROLLBACK" and "latency" in outcomes[0.0]["reasons"][0]
    with pytest.raises(AirflowSkipException, match="stage 1 did not promote"):
        CanaryStageOperator(task_id="stage_2", plan_doc=doc, warm=warm, previous=outcomes[0.0], index=2).execute({"ti": RecordingTI()})


def test_a_live_stage_waits_for_its_window_on_the_wall_clock_then_for_complete_events(stores):
    """Live at time_scale 0.001: the 30-minute window is 1.8 s of wall clock. Resumed too early, the stage defers
    again (a trigger firing early changes nothing); after its end, no watermark yet: it polls (a TimeDeltaTrigger);
    once the window's events are in and the watermark has passed its end, it is judged."""
    doc = steps.plan_rollout({"candidate": "sonnet-4-5", "intents": ["recommendation"], "rollout_id": "r-live-op", "time_scale": 0.001,
                              "cloudwatch": False}, "manual__x", ORIGIN)
    steps.start_rollout(doc)
    context = {"ti": RecordingTI()}
    op = CanaryStageOperator(task_id="stage_1", plan_doc=doc, warm={"requests": 0}, previous=None, index=1)
    with pytest.raises(TaskDeferred) as first:
        op.execute(context)
    state = first.value.kwargs["state"]
    end = datetime.fromisoformat(state["end"]).replace(tzinfo=timezone.utc)
    classpath, kwargs = first.value.trigger.serialize()
    assert classpath == DATE_TRIGGER and kwargs["moment"] == end  # the window's end, on the wall clock
    assert (end - datetime.fromisoformat(state["start"]).replace(tzinfo=timezone.utc)).total_seconds() == pytest.approx(1.8)
    with pytest.raises(TaskDeferred) as early:
        op.resume(context, event=None, state=state)  # woken before the end: waits again for the same moment
    assert early.value.trigger.serialize()[1]["moment"] == end and early.value.kwargs["state"]["phase"] == "window"
    time.sleep(max(0.0, (end - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    with pytest.raises(TaskDeferred) as polling:
        op.resume(context, event=None, state=state)
    polled = polling.value.kwargs["state"]
    assert polled["phase"] == "events" and polled["looks"] == []  # nothing judged on part of a window
    poll_s = (polling.value.trigger.serialize()[1]["moment"] - datetime.now(timezone.utc)).total_seconds()
    assert 0 < poll_s <= 90 * 60 * 0.001  # at most the watermark timeout (90 min, compressed), at most a minute
    # The bot's events of the window arrive and the loader's watermark passes its end:
    start = datetime.fromisoformat(state["start"])
    events = pd.concat([draw(BASELINE, 20000, np.random.default_rng(1), start, 1.7, "control").to_events("r-live-op", "b"),
                        draw(like_baseline(), 2000, np.random.default_rng(2), start, 1.7, "treatment").to_events("r-live-op", "c")],
                       ignore_index=True)
    wh = connect()
    try:
        store_events(wh, "bot/part-0", events)
        watermark.record(wh, watermark.REQUESTS_SOURCE, datetime.fromisoformat(state["end"]))
    finally:
        wh.close()
    outcome = op.resume(context, event=None, state=polled)
    assert outcome["verdict"] == "PROMOTE" and outcome["judgement"]["samples"]["canary_requests"] == 2000
    assert outcome["window_end"] == state["end"] and len(outcome["looks"]) == 1
