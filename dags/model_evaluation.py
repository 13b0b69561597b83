"""model_evaluation: nightly (02:00 UTC) evaluation of model configurations per intent, from golden cases
to a published routing table. Thin wiring only: each task calls mangaeval.pipeline.steps.

Trigger by hand with parameters to evaluate a new candidate configuration against tonight's production
routing. Bad parameters fail `plan` before any model is called; a failed validation gate stops the run
before anything is loaded or published. The routing document's time is the run's logical date (a scheduled
run) or, for a manual run, which Airflow 3 creates without a logical date, when it was triggered (run_after).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, setup, task, teardown

from mangaeval.alerts.notify import alert_on  # SNS / Slack alerts, configured by connection (README "Alerts")
from mangaeval.connections import use_airflow_connections  # AWS clients and warehouse through Airflow connections
from mangaeval.golden import DEFAULT_VERSION

TIERS = ("sonnet", "haiku", "nova", "custom")  # one pool per tier: bedrock_<tier> (see README)
# Nightly at 02:00 UTC; a deployment may move it, or make the DAG manual-only with "none" (the deployment test does,
# so unpausing it creates no scheduled run next to the one it triggers).
SCHEDULE = os.environ.get("MANGAEVAL_EVALUATION_SCHEDULE", "0 2 * * *")


@dag(
    dag_id="model_evaluation",
    schedule=None if SCHEDULE.strip().lower() in ("none", "") else SCHEDULE,
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    tags=["mangaassist", "evaluation", "routing"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True,
                  "pre_execute": use_airflow_connections,
                  "on_failure_callback": alert_on("task_failure")},  # once per run; the gate has its own
    params={
        "configs": Param(["sonnet-3-5-v2", "sonnet-4-5", "haiku-3-5", "nova-lite", "custom-sagemaker"], type="array", items={"type": "string"},
                         description="configuration ids from include/config/configurations.yaml"),
        "candidate": Param(None, type=["null", "object"],
                           description="a new configuration {id, model_id, temperature, top_p, max_tokens, system_prompt_version}"),
        "intents": Param([], type="array", items={"type": "string"}, description="empty = every intent"),
        "dataset_version": Param(DEFAULT_VERSION, type="string", description="golden dataset version"),
        "limit": Param(None, type=["null", "integer"], title="Cases per intent",
                       description="at most N cases per intent, sampled so each intent's languages and tags keep their "
                                   "proportions (empty = every case)"),
        "sample_seed": Param(0, type="integer", title="Sample seed",
                             description="which cases `limit` samples: the same seed picks the same cases (ignored without a limit)"),
        "use_cache": Param(True, type="boolean", title="Run's response cache",
                           description="retries and reruns of this run reuse the answers it already paid for; a new run asks again"),
        "reuse_answers": Param(False, type="boolean", title="Reuse earlier runs' answers",
                               description="also reuse answers measured by earlier runs (each row records reused_from; their "
                                           "latency is not reused, so P95 comes from tonight's calls only)"),
    },
    doc_md=__doc__,
)
def model_evaluation():
    @task(retries=0)
    def plan() -> dict:
        from mangaeval.pipeline import steps

        context = get_current_context()
        return steps.plan_run(dict(context["params"]), steps.current_routing_config_ids())

    @setup
    @task(retries=0)
    def start_model_double() -> dict:
        from mangaeval.pipeline import steps

        return steps.start_double_if_needed(get_current_context()["run_id"])

    @task
    def plan_shards(plan_doc: dict) -> dict:
        from airflow.sdk.configuration import conf

        from mangaeval.pipeline.params import RunPlan
        from mangaeval.pipeline.shards import chunks_by_tier, plan_shards as shards_of

        return chunks_by_tier(shards_of(RunPlan.from_dict(plan_doc)), conf.getint("core", "max_map_length"))

    @task
    def shards_for(chunks_by_tier: dict, tier: str) -> list:
        return chunks_by_tier[tier]  # mapping needs a plain list per tier, so each tier maps into its own pool

    @task(max_active_tis_per_dagrun=4)
    def evaluate(chunk: list, plan_doc: dict, double: dict) -> list:
        from mangaeval.pipeline import steps

        return steps.evaluate_chunk(chunk, plan_doc, get_current_context()["run_id"], double["endpoint_url"],
                                    double.get("sagemaker_endpoint_url"))

    @task(trigger_rule="none_failed", retries=0,  # the same data fails the same way: retrying only delays the alert
          on_failure_callback=alert_on("gate_failure"))
    def validation_gate(sonnet: list, haiku: list, nova: list, custom: list, plan_doc: dict) -> list:
        from mangaeval.pipeline import steps

        shard_results = [r for results in (sonnet, haiku, nova, custom) for chunk in results or [] for r in chunk]
        return steps.validation_gate(shard_results, plan_doc)

    @task
    def load_warehouse(uris: list, plan_doc: dict) -> dict:
        from mangaeval.pipeline import steps

        return steps.load_warehouse(uris, get_current_context()["run_id"], plan_doc["routing_base"])

    @task
    def decide(loaded: dict, plan_doc: dict) -> dict:
        from mangaeval.pipeline import steps

        return steps.decide(get_current_context()["run_id"], plan_doc)

    @task(on_success_callback=alert_on("routing_published"))  # flagged routes, a changed routing table
    def publish_routing(decision: dict, plan_doc: dict) -> dict:
        from mangaeval.pipeline import steps
        from mangaeval.runtime import run_time

        context = get_current_context()
        return steps.publish_routing(decision, context["run_id"], run_time(context), plan_doc)  # a manual run has no logical date

    @task
    def publish_report(published: dict) -> str:
        from mangaeval.pipeline import steps

        return steps.publish_report(get_current_context()["run_id"])  # reports/run_id=<run>/index.html beside the routing

    @teardown
    @task
    def stop_model_double(double: dict) -> None:
        from mangaeval.pipeline import steps

        steps.stop_double(double)

    plan_doc = plan()
    double = start_model_double()
    plan_doc >> double
    chunks = plan_shards(plan_doc)
    evaluated = {
        tier: evaluate.override(task_id=f"evaluate_{tier}", pool=f"bedrock_{tier}")
        .partial(plan_doc=plan_doc, double=double)
        .expand(chunk=shards_for.override(task_id=f"shards_{tier}")(chunks, tier))
        for tier in TIERS
    }
    uris = validation_gate(**evaluated, plan_doc=plan_doc)
    published = publish_routing(decide(load_warehouse(uris, plan_doc), plan_doc), plan_doc)
    publish_report(published) >> stop_model_double(double)


model_evaluation()
