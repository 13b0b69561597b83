"""A canary stage as an Airflow operator that holds no worker slot while it waits.

The stage (mangaeval.canary.steps.open_stage / advance_stage) runs on a worker only while there is work: publishing
its split, opening its window, judging, acting. Each wait (the window's end, 30-60 minutes and extensions up to a
day; a pause while the window's events are not all in) is handed to Airflow's triggerer with Airflow's own
triggers: `DateTimeTrigger` for a live window's end (a moment on the wall clock), `TimeDeltaTrigger` for the rest
(a poll for complete events, a simulated window compressed by time_scale). The task is `deferred` meanwhile and
resumes in `resume` from the stage's state, small JSON passed in the deferral's kwargs. A simulated rollout at
time_scale 0 never waits, so it never defers.

The state is also pushed as the XCom `stage_state` before each deferral (where the stage is, in the UI): `dag.test()`
of Airflow 3.3.2 resumes a task with the trigger's event only, dropping the deferral's kwargs (fixed upstream by
apache/airflow#69942), and `resume` then reads the state from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import BaseOperator

STATE_XCOM_KEY = "stage_state"
# A deferred wait that has not fired this long after it should have (the triggerer down) fails the task, and the
# DAG's rollback_on_failure takes the canary's traffic back: a stage never sits at its split unwatched.
TRIGGER_GRACE = timedelta(hours=1)


class CanaryStageOperator(BaseOperator):
    """Stage `index` of a rollout: skipped when the stage before it did not promote; otherwise its outcome
    (StageOutcome.to_dict()) is the task's return value, as the @task it replaces returned."""

    template_fields: Sequence[str] = ("plan_doc", "warm", "previous")  # XComArgs of the plan, warm-up and stage before
    ui_color = "#f0e4ff"

    def __init__(self, *, plan_doc: Any, warm: Any, previous: Any, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan_doc, self.warm, self.previous, self.index = plan_doc, warm, previous, index

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from mangaeval.canary import steps

        state = steps.open_stage(self.plan_doc, self.index, self.warm, self.previous)
        if state is None:
            raise AirflowSkipException(f"stage {self.index - 1} did not promote: stage {self.index} does not run")
        return self._go_on(context, state)

    def resume(self, context: Any, event: Any = None, state: dict[str, Any] | None = None) -> dict[str, Any]:
        """Called by Airflow when the wait's trigger fired: go on from the state the stage deferred with."""
        if state is None:  # dag.test() before apache/airflow#69942 resumes without the deferral's kwargs
            state = context["ti"].xcom_pull(task_ids=self.task_id, key=STATE_XCOM_KEY)
        if not state:
            raise ValueError(f"stage {self.index} resumed without its state (no kwargs, no XCom {STATE_XCOM_KEY!r})")
        return self._go_on(context, state)

    def _go_on(self, context: Any, state: dict[str, Any]) -> dict[str, Any]:
        from mangaeval.canary import steps

        step = steps.advance_stage(self.plan_doc, self.warm, self.previous, state)
        if "outcome" in step:
            return step["outcome"]
        wait = step["wait"]
        context["ti"].xcom_push(key=STATE_XCOM_KEY, value=step["state"])
        self.defer(trigger=wait_trigger(wait), method_name="resume", kwargs={"state": step["state"]},
                   timeout=timedelta(seconds=wait["wall_seconds"]) + TRIGGER_GRACE)


def wait_trigger(wait: dict[str, Any]):
    """Airflow's own trigger for a wait of advance_stage: a live window ends at a moment on the wall clock; a poll
    for complete events, or a simulated (compressed) window, lasts a number of seconds."""
    from airflow.providers.standard.triggers.temporal import DateTimeTrigger, TimeDeltaTrigger

    if wait["mode"] == "live" and wait["reason"] == "window":
        return DateTimeTrigger(moment=datetime.fromisoformat(wait["at"]))
    return TimeDeltaTrigger(timedelta(seconds=wait["wall_seconds"]))
