"""model_benchmark: weekly (Mondays 04:00 UTC) benchmark of the model configurations and the chatbot chain —
latency with warm-up apart, throughput under concurrent workers, cost per query type, the chain's stages — judged
against the stored baselines, with an alert on a regression. Thin wiring only: the logic is mangaeval.bench.steps.

The suite is `mangaeval bench` (README "Benchmarks"): the same prompts, statistics and regression rule. Against the
configured Bedrock endpoint (the AWS connection), real AWS with MANGAEVAL_USE_DOUBLE=0, else a model double started
inside the benchmark task (at `double_time_scale`; 1 = real time). The result, the verdicts, the Markdown summary
and the HTML report are kept in the object store under benchmarks/; the figures go to the warehouse
(`benchmark_results`, view `mart_benchmark_trend`). A baseline changes only by `mangaeval bench accept`: a first run
marks every figure BASELINE. A regression sends the `benchmark_regression` alert and, unless `fail_on_regression` is
off, fails the run's last task so the grid shows it.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task

from mangaeval.alerts.notify import alert_on  # SNS / Slack alerts, configured by connection (README "Alerts")
from mangaeval.bench.suite import DEFAULT_CONFIGS
from mangaeval.connections import use_airflow_connections  # AWS clients and warehouse through Airflow connections
from mangaeval.golden import DEFAULT_VERSION

# Weekly, after Monday's nightly evaluation; a deployment may move it, or make the DAG manual-only with "none".
SCHEDULE = os.environ.get("MANGAEVAL_BENCHMARK_SCHEDULE", "0 4 * * 1")


@dag(
    dag_id="model_benchmark",
    schedule=None if SCHEDULE.strip().lower() in ("none", "") else SCHEDULE,
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,  # two suites at once would measure each other
    tags=["mangaassist", "benchmark"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5), "pre_execute": use_airflow_connections,
                  "on_failure_callback": alert_on("task_failure")},  # once per run (a regression: its own alert)
    params={
        "configs": Param(DEFAULT_CONFIGS, type="array", items={"type": "string"},
                         description="configuration ids from include/config/configurations.yaml"),
        "requests": Param(300, type="integer", minimum=1, title="Measurement requests",
                          description="per configuration: the ten standard prompts, then golden cases by traffic share"),
        "warmup": Param(10, type="integer", minimum=0, description="warm-up requests per configuration, reported apart"),
        "latency_concurrency": Param(4, type="integer", minimum=1, description="requests in flight in the measurement phase"),
        "workers": Param(10, type="integer", minimum=1, description="concurrent workers of the throughput phase"),
        "throughput_requests": Param(100, type="integer", minimum=1, description="requests of the throughput phase"),
        "stream": Param(False, type="boolean", description="converse-stream: also time to first token"),
        "dataset_version": Param(DEFAULT_VERSION, type="string", description="golden dataset the sampled prompts come from"),
        "sample_seed": Param(0, type="integer", description="which golden cases are sampled (the baseline's seed pairs prompts)"),
        "environment": Param(None, type=["null", "string"],
                             description="baselines' environment label (default: double, aws or endpoint, as `mangaeval bench`)"),
        "double_time_scale": Param(1.0, type="number", minimum=0,
                                   description="time scale of the model double started when no endpoint is configured (1 = real time)"),
        "threshold": Param(0.10, type="number", exclusiveMinimum=0, description="a figure worse by more than this share ..."),
        "margin": Param(0.0, type="number", minimum=0, description="... with the worse-ratio's 95% interval above 1 + margin"),
        "fail_on_regression": Param(True, type="boolean", description="fail the run (after the alert) when a figure regressed"),
    },
    doc_md=__doc__,
)
def model_benchmark():
    @task(retries=0)
    def plan() -> dict:
        from mangaeval.bench import steps

        return steps.plan_benchmark(dict(get_current_context()["params"]))

    @task(execution_timeout=timedelta(hours=2))
    def run_benchmarks(plan_doc: dict) -> dict:
        from mangaeval.bench import steps

        return steps.run_benchmarks(plan_doc)

    @task
    def load_warehouse(run: dict) -> int:
        from mangaeval.bench import steps

        return steps.load_warehouse(run["result_id"])

    @task(on_success_callback=alert_on("benchmark_compared"))  # a regression: the benchmark_regression alert
    def compare_to_baselines(run: dict, plan_doc: dict) -> dict:
        from mangaeval.bench import steps

        return steps.compare_to_baselines(run["result_id"], plan_doc)

    @task(retries=0)  # the same verdict every time: retrying only delays the red run
    def regression_gate(comparison: dict, plan_doc: dict) -> dict:
        from mangaeval.bench import steps

        return steps.regression_gate(comparison, plan_doc)

    plan_doc = plan()
    run = run_benchmarks(plan_doc)
    comparison = compare_to_baselines(run, plan_doc)
    load_warehouse(run)
    regression_gate(comparison, plan_doc)


model_benchmark()
