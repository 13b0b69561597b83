"""Run a DAG (default model_evaluation) once with dag.test() in a fresh process (Airflow reads its configuration
from the environment at import, so each run gets its own AIRFLOW_HOME).
Usage: run_dag.py LOGICAL_DATE CONF_JSON DAGS_FOLDER [DAG_ID]"""

import json
import sys
from datetime import datetime

from airflow.dag_processing.dagbag import DagBag

dag = DagBag(dag_folder=sys.argv[3]).dags[sys.argv[4] if len(sys.argv) > 4 else "model_evaluation"]
when = datetime.fromisoformat(sys.argv[1])
run = dag.test(run_after=when, logical_date=when, run_conf=json.loads(sys.argv[2]))
states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print("DAGRUN_STATE", run.state)
print("TASK_STATES", json.dumps(states, sort_keys=True))
