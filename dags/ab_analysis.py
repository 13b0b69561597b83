"""ab_analysis: hourly analysis of the A/B experiments between model configurations on live traffic.

Loads the hour's event files (malformed rows quarantined with their reason), analyses every running
experiment with always-valid statistics (looking every hour does not inflate false positives), stores each
look in the warehouse (view v_ab_results for dashboards), and publishes a PROMOTE or ROLLBACK decision as a
proposed routing change. A proposal is applied only by a manual run with `apply_proposals` (or an
experiment with allow_automation). Thin wiring only: the logic is mangaeval.ab.steps.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task


@dag(
    dag_id="ab_analysis",
    schedule="5 * * * *",  # a few minutes past the hour, once the hour's event files have landed
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    tags=["mangaassist", "ab-test", "routing"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True},
    params={
        "experiments": Param([], type="array", items={"type": "string"}, description="empty = every registered experiment"),
        "as_of": Param(None, type=["null", "string"], description="analyse up to this ISO-8601 time (default: the interval's end)"),
        "apply_proposals": Param(False, type="boolean", description="apply PROMOTE/ROLLBACK proposals (manual runs only)"),
        "reload_all": Param(False, type="boolean", description="(re)load every event file, not just the interval's hour"),
    },
    doc_md=__doc__,
)
def ab_analysis():
    @task(retries=0)
    def plan() -> dict:
        from mangaeval.ab import steps

        return steps.validate_params(dict(get_current_context()["params"]))

    @task
    def publish_experiments_config(plan_doc: dict) -> dict:
        from mangaeval.ab.experiments import load_experiments
        from mangaeval.ab.publishing import publish_experiments
        from mangaeval.objectstore import open_store

        return publish_experiments(open_store(), load_experiments())

    @task
    def load_events(plan_doc: dict) -> dict:
        from mangaeval.ab import steps

        context = get_current_context()
        if plan_doc["reload_all"]:
            return steps.load_events(None, None)
        return steps.load_events(context["data_interval_start"], context["data_interval_end"])

    @task
    def analyze(plan_doc: dict, loaded: dict, published: dict) -> dict:
        from mangaeval.ab import steps

        context = get_current_context()
        manual = context["dag_run"].run_type == "manual"
        return steps.analyze_experiments(plan_doc, context["data_interval_end"] or context["run_after"], manual)

    plan_doc = plan()
    analyze(plan_doc, load_events(plan_doc), publish_experiments_config(plan_doc))


ab_analysis()
