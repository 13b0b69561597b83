"""Every DAG imports without errors, quickly, with tags and retries, and no cycles."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DAGS = ROOT / "dags"


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_every_dag_imports(dagbag):
    assert dagbag.import_errors == {}
    assert "model_evaluation" in dagbag.dags


def test_tags_retries_and_no_cycles(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        dag.check_cycle()  # raises on a cycle
        for t in dag.tasks:
            if t.task_id not in ("plan", "start_model_double", "validation_gate", "regression_gate"):  # deterministic: fail fast; the rest retries
                assert t.retries >= 1, (dag_id, t.task_id)


def test_model_evaluation_shape(dagbag):
    dag = dagbag.dags["model_evaluation"]
    assert dag.schedule == "0 2 * * *" or str(dag.timetable.summary) == "0 2 * * *"
    assert {"configs", "candidate", "intents", "dataset_version", "limit", "sample_seed", "use_cache"} <= set(dag.params)
    seed = dag.params.get_param("sample_seed")
    assert seed.value == 0 and seed.schema["type"] == "integer" and seed.schema["title"] and "same seed" in seed.description
    ids = {t.task_id for t in dag.tasks}
    assert {"plan", "validation_gate", "load_warehouse", "decide", "publish_routing", "stop_model_double"} <= ids
    assert {f"evaluate_{tier}" for tier in ("sonnet", "haiku", "nova", "custom")} <= ids
    assert {dag.get_task(f"evaluate_{tier}").pool for tier in ("sonnet", "haiku")} == {"bedrock_sonnet", "bedrock_haiku"}
    gate = dag.get_task("validation_gate")
    assert {"load_warehouse"} <= {t.task_id for t in gate.downstream_list}


HEAVY = ("pandas", "great_expectations", "boto3", "scipy", "duckdb", "psycopg", "redshift_connector", "pyarrow")


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS.glob("*.py")))
def test_dag_file_parses_quickly(dag_file):
    """Parses quickly because heavy libraries are imported inside tasks, not at parse time (checked by what
    the file imports, not by a clock: benchmarks/dag_parse_bench.py prints the time)."""
    code = (
        "import sys, importlib.util, airflow.sdk\n"
        "from airflow.sdk import dag, task, Param\n"
        "before = set(sys.modules)\n"
        f"spec = importlib.util.spec_from_file_location('d', {str(DAGS / dag_file)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    assert out.returncode == 0, out.stderr
    newly_imported = out.stdout.split()
    heavy = sorted({m.split(".")[0] for m in newly_imported} & set(HEAVY))
    assert not heavy, f"{dag_file} imports {heavy} at parse time: move them into the tasks"


def test_alerts_are_wired_where_each_event_is_decided(dagbag):
    """The gate's failure, the routing publish, the A/B look and the rollout's report carry the alert callbacks
    (mangaeval.alerts.notify); a callback never fails its task (tests/test_alerts_delivery.py)."""
    from mangaeval.alerts.notify import AlertNotifier

    def points(dag_id: str, task_id: str, kind: str) -> list[str]:
        callbacks = getattr(dagbag.dags[dag_id].get_task(task_id), kind) or []
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]  # default_args' callback: a single one
        return [c.point for c in callbacks if isinstance(c, AlertNotifier)]

    assert points("model_evaluation", "validation_gate", "on_failure_callback") == ["gate_failure"]
    assert points("model_evaluation", "publish_routing", "on_success_callback") == ["routing_published"]
    assert points("ab_analysis", "analyze", "on_success_callback") == ["ab_analysed"]
    assert points("canary_rollout", "report", "on_success_callback") == points("canary_rollout", "report", "on_failure_callback") == \
        ["canary_report"]
    assert points("model_benchmark", "compare_to_baselines", "on_success_callback") == ["benchmark_compared"]
    for dag_id in ("model_evaluation", "model_benchmark"):  # every other task's final failure: the task_failed alert, once per run
        for t in dagbag.dags[dag_id].tasks:
            expected = ["gate_failure"] if t.task_id == "validation_gate" else ["task_failure"]
            assert points(dag_id, t.task_id, "on_failure_callback") == expected, (dag_id, t.task_id)


def test_model_benchmark_shape(dagbag):
    dag = dagbag.dags["model_benchmark"]
    assert dag.schedule == "0 4 * * 1" and dag.max_active_runs == 1  # weekly; two suites would measure each other
    assert {"configs", "requests", "warmup", "workers", "throughput_requests", "stream", "environment", "threshold", "margin",
            "fail_on_regression"} <= set(dag.params)
    assert dag.params.get_param("requests").value == 300 and dag.params.get_param("fail_on_regression").value is True
    order = ["plan", "run_benchmarks", "compare_to_baselines", "regression_gate"]
    for upstream, downstream in zip(order, order[1:]):
        assert downstream in {t.task_id for t in dag.get_task(upstream).downstream_list}, (upstream, downstream)
    assert "load_warehouse" in {t.task_id for t in dag.get_task("run_benchmarks").downstream_list}
