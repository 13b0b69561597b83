"""Run canary_rollout once with dag.test() in a fresh process (Airflow reads its configuration from the
environment at import). Usage: run_canary_dag.py LOGICAL_DATE CONF_JSON DAGS_FOLDER"""

import json
import sys
from datetime import datetime

from airflow.dag_processing.dagbag import DagBag

dag = DagBag(dag_folder=sys.argv[3]).dags["canary_rollout"]
when = datetime.fromisoformat(sys.argv[1])
run = dag.test(run_after=when, logical_date=when, run_conf=json.loads(sys.argv[2]))
states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print("DAGRUN_STATE", run.state)
print("TASK_STATES", json.dumps(states, sort_keys=True))
