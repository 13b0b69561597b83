"""Run a DAG (default model_evaluation) once with dag.test() in a fresh process (Airflow reads its configuration
from the environment at import, so each run gets its own AIRFLOW_HOME).
Usage: run_dag.py WHEN CONF_JSON DAGS_FOLDER [DAG_ID] [--no-logical-date]

WHEN is the run's logical date (and its run_after): the run has a data interval from the DAG's timetable, as a
scheduled run or a trigger given a logical date has. With --no-logical-date WHEN is only the run's run_after and
the run has no logical date and no data interval, as Airflow 3 creates every manual run (the UI's trigger button,
the REST API's POST /dags/{id}/dagRuns, `airflow dags trigger`) unless one is given: the API's trigger endpoint
calls dag.create_dagrun(logical_date=None, data_interval=None, run_after=<now or the body's>, run_type=MANUAL),
and dag.test(logical_date=None, run_after=WHEN) creates the same run. The task context of such a run has no
logical_date, ds, ts or data_interval_* key at all.

Prints TASK_CONTEXTS (per task, which of the time keys its context held, and the values), DAGRUN (the run as
created: run id and type, logical date, run_after, data interval), DAGRUN_STATE and TASK_STATES.
"""

import json
import sys
from datetime import datetime

from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

TIME_KEYS = ("logical_date", "data_interval_start", "data_interval_end", "ds", "ts")
contexts: dict[str, dict] = {}
_get_template_context = RuntimeTaskInstance.get_template_context


def _iso(value):
    return value.isoformat() if value is not None else None


def recording_get_template_context(self):
    """The context the task gets (dag.test runs each task in this process), recorded: which time keys it has."""
    context = _get_template_context(self)
    dag_run = context.get("dag_run")
    contexts[self.task_id] = {"keys": sorted(k for k in TIME_KEYS if k in context),
                              **{k: _iso(context.get(k)) for k in ("logical_date", "data_interval_start", "data_interval_end")},
                              "dag_run.logical_date": _iso(getattr(dag_run, "logical_date", None)),
                              "dag_run.run_after": _iso(getattr(dag_run, "run_after", None)),
                              "dag_run.run_type": str(getattr(getattr(dag_run, "run_type", None), "value", None))}
    return context


RuntimeTaskInstance.get_template_context = recording_get_template_context

args = [a for a in sys.argv[1:] if a != "--no-logical-date"]
no_logical_date = "--no-logical-date" in sys.argv[1:]
dag = DagBag(dag_folder=args[2]).dags[args[3] if len(args) > 3 else "model_evaluation"]
when = datetime.fromisoformat(args[0])
run = dag.test(run_after=when, logical_date=None if no_logical_date else when, run_conf=json.loads(args[1]))
states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print("TASK_CONTEXTS", json.dumps(contexts, sort_keys=True))
print("DAGRUN", json.dumps({"run_id": run.run_id, "run_type": str(run.run_type), "logical_date": _iso(run.logical_date),
                            "run_after": _iso(run.run_after), "data_interval_start": _iso(run.data_interval_start),
                            "data_interval_end": _iso(run.data_interval_end)}))
print("DAGRUN_STATE", run.state)  # last: a failed test shows the log's tail
print("TASK_STATES", json.dumps(states, sort_keys=True))
