"""ab_analysis: analysis of the A/B experiments between model configurations on live traffic, run when the bot's
event files land (the asset `mangaassist_event_files`, watched in the triggerer: mangaeval.events.watch) and at
least hourly.

Loads the hour's event files (malformed rows quarantined with their reason), analyses every running
experiment with always-valid statistics (looking every hour does not inflate false positives), stores each
look in the warehouse (view v_ab_results for dashboards), and publishes a PROMOTE or ROLLBACK decision as a
proposed routing change. A proposal is applied only by a manual run with `apply_proposals` (or an
experiment with allow_automation). Thin wiring only: the logic is mangaeval.ab.steps.

Which events: the event files of the hourly partitions that overlap the hour ending at the run's time, so the
run at 01:05 loads hour 00 (complete by then) and what hour 01 has so far (reloading a file replaces its rows,
so the next run picks up the rest). The run's time is the end of its data interval: the cron tick for a
scheduled run (Airflow 3's cron schedule gives a zero-length interval); for a manual run, which Airflow 3
creates without a logical date or data interval, when it was triggered (run_after). A run whose data interval
is longer (a timetable with intervals) loads that interval. A run triggered by new event files loads the hour
ending at its trigger time and reaches back to the earliest partition the watcher saw change (a late file).
`reload_all` loads every file; the analysis is as of the end of that hour unless `as_of` says otherwise.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, get_current_context, task

from mangaeval.alerts.notify import alert_on  # SNS / Slack alerts, configured by connection (README "Alerts")
from mangaeval.connections import use_airflow_connections  # AWS clients and warehouse through Airflow connections
from mangaeval.events.watch import event_files_asset

# New event files trigger a run; the hourly run (a few minutes past the hour) is the floor: a look every hour even
# when no file lands, and the only trigger where no triggerer watches. "none": new files only (the deployment test).
HOURLY = os.environ.get("MANGAEVAL_AB_SCHEDULE", "5 * * * *")
EVENT_FILES = event_files_asset()


@dag(
    dag_id="ab_analysis",
    schedule=EVENT_FILES if HOURLY.strip().lower() in ("none", "") else
    AssetOrTimeSchedule(timetable=CronTriggerTimetable(HOURLY, timezone="UTC"), assets=EVENT_FILES),
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    tags=["mangaassist", "ab-test", "routing"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True,
                  "pre_execute": use_airflow_connections},
    params={
        "experiments": Param([], type="array", items={"type": "string"}, description="empty = every registered experiment"),
        "as_of": Param(None, type=["null", "string"],
                       description="analyse up to this ISO-8601 time (default: the end of the hour loaded; for a manual run, when it was triggered)"),
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
        from mangaeval.events.watch import load_window
        from mangaeval.runtime import data_window

        if plan_doc["reload_all"]:
            return steps.load_events(None, None)
        context = get_current_context()
        return steps.load_events(*load_window(context, data_window(context)))

    @task(on_success_callback=alert_on("ab_analysed"))  # a PROMOTE / ROLLBACK / REVIEW decision, once per change
    def analyze(plan_doc: dict, loaded: dict, published: dict) -> dict:
        from mangaeval.ab import steps
        from mangaeval.runtime import data_window

        context = get_current_context()
        manual = context["dag_run"].run_type == "manual"
        return steps.analyze_experiments(plan_doc, data_window(context)[1], manual)

    plan_doc = plan()
    analyze(plan_doc, load_events(plan_doc), publish_experiments_config(plan_doc))


ab_analysis()
