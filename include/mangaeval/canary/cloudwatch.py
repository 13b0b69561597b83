"""Per-stage canary metrics to Amazon CloudWatch (namespace from the policy, dimensions RolloutId, Stage and,
for per-side figures, Side). The client comes from the DAG task's AWS connection (mangaeval.aws); the endpoint
from MANGAEVAL_CLOUDWATCH_ENDPOINT_URL, the connection, or botocore's own AWS_ENDPOINT_URL_CLOUDWATCH, so the
same code talks to AWS or to a local double."""

from __future__ import annotations

import logging
import os
from typing import Any

from mangaeval.canary.rollout import RolloutPlan, StageOutcome

log = logging.getLogger(__name__)
VERDICT_VALUE = {"PROMOTE": 1.0, "HOLD": 0.0, "ROLLBACK": -1.0}
# metric in the judgement -> (CloudWatch name of the per-side value, unit, CloudWatch name of the ratio or None)
PER_SIDE = {"quality": ("QualityMean", "None", "QualityRatio"), "latency": ("LatencyP95", "Milliseconds", "LatencyP95Ratio"),
            "error_rate": ("ErrorRate", "None", None), "cost_per_request": ("CostPerRequest", "None", "CostRatio")}
BATCH = 20  # PutMetricData's historical per-call limit: safe everywhere


def client() -> Any:
    """Through the task's Airflow AWS connection inside the DAG (its region and `cloudwatch` endpoint), boto3's
    default chain outside; MANGAEVAL_CLOUDWATCH_ENDPOINT_URL, when set, is the endpoint either way."""
    from mangaeval.aws import task_client

    return task_client("cloudwatch", endpoint_url=os.environ.get("MANGAEVAL_CLOUDWATCH_ENDPOINT_URL") or None)


def metric_data(rollout_id: str, outcome: StageOutcome) -> list[dict[str, Any]]:
    base = [{"Name": "RolloutId", "Value": rollout_id}, {"Name": "Stage", "Value": str(outcome.stage)}]
    data: list[dict[str, Any]] = []

    def add(name: str, value: Any, unit: str = "None", side: str | None = None) -> None:
        if value is None:
            return  # no data is not zero: nothing is published
        dims = base + ([{"Name": "Side", "Value": side}] if side else [])
        data.append({"MetricName": name, "Dimensions": dims, "Value": float(value), "Unit": unit})

    metrics = outcome.judgement["metrics"]
    for name, (cw_name, unit, ratio_name) in PER_SIDE.items():
        metric = metrics.get(name, {})
        add(cw_name, metric.get("baseline_value"), unit, "baseline")
        add(cw_name, metric.get("canary_value"), unit, "canary")
        if ratio_name:
            add(ratio_name, metric.get("ratio"))
        add(f"{cw_name}Pass", 1.0 if metric.get("status") == "pass" else 0.0)
    samples = outcome.judgement["samples"]
    add("Requests", samples.get("baseline_requests"), "Count", "baseline")
    add("Requests", samples.get("canary_requests"), "Count", "canary")
    add("TrafficPct", outcome.traffic_pct, "Percent")
    add("Verdict", VERDICT_VALUE.get(outcome.verdict))
    add("RolledBack", 1.0 if outcome.action == "rollback" else 0.0)
    return data


def publish(rollout_id: str, outcome: StageOutcome, namespace: str, cw: Any = None) -> int:
    cw = cw or client()
    data = metric_data(rollout_id, outcome)
    for start in range(0, len(data), BATCH):
        cw.put_metric_data(Namespace=namespace, MetricData=data[start:start + BATCH])
    return len(data)


def cloudwatch_sink(namespace: str, cw: Any = None):
    """Publishing is monitoring, not the decision: a CloudWatch outage is logged and the rollout goes on (the
    same figures are in the warehouse)."""

    def record(plan: RolloutPlan, outcome: StageOutcome) -> None:
        try:
            count = publish(plan.rollout_id, outcome, namespace, cw)
            log.info("published %d CloudWatch metric(s) to %s for stage %d", count, namespace, outcome.stage)
        except Exception as exc:  # botocore errors, no credentials, no network
            log.warning("CloudWatch publication failed for stage %d (%s: %s); the warehouse has the figures",
                        outcome.stage, type(exc).__name__, exc)

    return record
