"""canary_rollout: a new model version, rolled out 5% -> 25% -> 50% -> 100% of the covered intents' traffic,
each stage judged against the baseline over its window and rolled back on its own. Triggered by hand.

Thin wiring only: each task calls mangaeval.canary.steps. `plan` checks the parameters before any traffic
moves; `start` makes the split's version 0 (no canary) current; `warm_up` sends synthetic requests to the
candidate (recorded, never judged); each `stage_N` publishes its split (conditional write), watches its
window, judges and acts: PROMOTE -> next stage, ROLLBACK -> version 0 current at once, HOLD -> the window is
extended, up to a limit, then rolled back. A stage waits for its window's end and for complete events deferred
to the triggerer (state `deferred`, no worker slot held): mangaeval.canary.operator. A failed task triggers `rollback_on_failure`: a failure to judge
never advances a stage. `mode=simulate` replays a field scenario (a-d) through the same steps, with the
windows compressed by `time_scale` (0 = no waiting). The rollout's clock starts at the run's time: when it was
triggered (run_after; Airflow 3 gives a manual run no logical date), or its logical date if one was given.
Policy: include/config/canary.yaml.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task

from mangaeval.alerts.notify import alert_on  # SNS / Slack alerts, configured by connection (README "Alerts")
from mangaeval.connections import use_airflow_connections  # AWS clients and warehouse through Airflow connections
from mangaeval.canary.operator import CanaryStageOperator  # a stage that waits in the triggerer, not in a worker slot

STAGES = 4  # as include/config/canary.yaml (checked by the plan)


@dag(
    dag_id="canary_rollout",
    schedule=None,
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,  # one rollout holds the split at a time
    tags=["mangaassist", "canary", "rollout"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1), "pre_execute": use_airflow_connections},
    params={
        "candidate": Param(None, type=["null", "string", "object"],
                           description="configuration id, or {id, model_id, temperature, top_p, max_tokens, system_prompt_version}"),
        "intents": Param([], type="array", items={"type": "string"}, description="intents the candidate covers; empty = every intent"),
        "rollout_id": Param(None, type=["null", "string"], description="default: from the run id"),
        "mode": Param("live", enum=["live", "simulate"], description="live traffic, or a replayed field scenario"),
        "scenario": Param(None, type=["null", "string"], description="simulate mode: a | b | c | d"),
        "seed": Param(1, type="integer", description="simulate mode: traffic seed"),
        "time_scale": Param(1.0, type="number", description="wall seconds per window second: 1 = real windows, 0 = none"),
        "warmup_requests": Param(None, type=["null", "integer"], description="default: the policy's (500)"),
        "cloudwatch": Param(True, type="boolean", description="publish per-stage metrics to CloudWatch"),
    },
    doc_md=__doc__,
)
def canary_rollout():
    @task(retries=0)  # bad parameters stay bad
    def plan() -> dict:
        from mangaeval.canary import steps
        from mangaeval.runtime import run_time

        context = get_current_context()
        doc = steps.plan_rollout(dict(context["params"]), context["run_id"], run_time(context))  # the trigger time: no logical date
        if len(doc["policy"]["stages"]) != STAGES:
            raise ValueError(f"include/config/canary.yaml has {len(doc['policy']['stages'])} stages; this DAG wires {STAGES}")
        return doc

    @task
    def start(plan_doc: dict) -> dict:
        from mangaeval.canary import steps

        return steps.start_rollout(plan_doc)

    @task
    def warm_up(plan_doc: dict, started: dict) -> dict:
        from airflow.exceptions import AirflowFailException

        from mangaeval.canary import steps
        from mangaeval.canary.warmup import WarmUpFailed

        try:
            return steps.warm_up(plan_doc)
        except WarmUpFailed as exc:  # the candidate's calls fail: stop now, not after a retry a minute later
            raise AirflowFailException(str(exc)) from None

    def planned() -> dict | None:
        return get_current_context()["ti"].xcom_pull(task_ids="plan")  # None when the plan itself failed

    @task(trigger_rule="one_failed", retry_delay=timedelta(seconds=5))  # urgent: retried at once
    def rollback_on_failure() -> dict:
        from airflow.exceptions import AirflowSkipException

        from mangaeval.canary import steps

        plan_doc = planned()
        if plan_doc is None:
            raise AirflowSkipException("the plan failed: no traffic ever moved, nothing to take back")
        return steps.rollback_on_failure(plan_doc)

    @task(trigger_rule="all_done", retry_delay=timedelta(seconds=5),  # a rollback (verdict or failed task), a completion's routing
          on_success_callback=alert_on("canary_report"), on_failure_callback=alert_on("canary_report"))
    def report() -> dict:
        from mangaeval.canary import steps

        plan_doc = planned()
        if plan_doc is None:
            raise ValueError("the plan failed (see the plan task's log): nothing was rolled out")
        return steps.report(plan_doc)  # fails the run when a task failed (its traffic was taken back)

    plan_doc = plan()
    started = start(plan_doc)
    warm = warm_up(plan_doc, started)
    previous = None
    stages = []
    for index in range(1, STAGES + 1):
        stage = CanaryStageOperator(task_id=f"stage_{index}", plan_doc=plan_doc, warm=warm, previous=previous, index=index)
        previous = stage.output
        stages.append(stage)
    failed = rollback_on_failure()
    [plan_doc, started, warm, *stages] >> failed
    failed >> report()


canary_rollout()
