"""Alerts through Airflow notifiers: per configured channel (mangaeval.alerts.channels), the Amazon provider's
SnsNotifier or the Slack provider's SlackWebhookNotifier, given the message already built
(mangaeval.alerts.events, .messages).

A DAG wires `alert_on(point)` as a task callback: `gate_failure` (the gate task's on_failure_callback),
`routing_published` (publish_routing's on_success_callback), `ab_analysed` (ab_analysis' analyze),
`canary_report` (canary_rollout's report, on success and on failure), `benchmark_compared` (model_benchmark's
compare_to_baselines) and `task_failure` (the default on_failure_callback of model_evaluation's and model_benchmark's
tasks: once per run). The callback reads what the task decided (its XCom, the rollback record), builds the
alerts and sends each to each channel.

An alert never changes the outcome of the task it reports on: whatever goes wrong here (an unknown
connection, a bad topic ARN, SNS or the webhook refusing) is logged as one clear line, without a traceback,
and the task's result stands. Nothing configured: the alerts are written to the task log only, and that is
said once per process.

This module imports only Airflow's BaseNotifier at load time (the DAG files import it when parsed); boto3,
the providers and the rest are imported when an alert is sent.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from airflow.sdk.bases.notifier import BaseNotifier

log = logging.getLogger(__name__)
SLACK_TIMEOUT_S = 10
AB_STATE_KEY = "alerts/ab_decisions.json"  # in the routing store: the last decision seen per experiment
_said: set[str] = set()


def _once(level: int, message: str) -> None:
    """Log a configuration message once per process, not once per alert."""
    if message not in _said:
        _said.add(message)
        log.log(level, message)


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong (botocore's error code and message when there is one)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        error = response["Error"]
        text = f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}".rstrip(": ")
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= 400 else text[:399] + "…"


@dataclass
class Delivery:
    configured: bool = False  # at least one channel was configured (usable or not)
    results: list[dict[str, Any]] = field(default_factory=list)  # one per (alert, channel): alert, channel, sent, error

    def failed(self, alert: Any) -> bool:
        return any(r["alert"] is alert and not r["sent"] for r in self.results)


def channel_problem(channel: Any) -> str | None:
    """Why the channel's connection cannot be used (None: it can): it must exist; a Slack one must hold the webhook."""
    from mangaeval.connections import get_connection

    try:
        connection = get_connection(channel.conn_id)
    except Exception as exc:
        if type(exc).__name__ == "AirflowNotFoundException":
            return (f"alerts: {channel.setting} names connection {channel.conn_id!r}, which is not defined in Airflow (add it: UI "
                    f"Admin > Connections, a secrets backend, or AIRFLOW_CONN_{channel.conn_id.upper()}): {channel.kind} alerts are off")
        return f"alerts: connection {channel.conn_id!r} could not be read ({describe_error(exc)}): {channel.kind} alerts are off"
    if channel.kind == "slack" and not (connection.password or "").strip():
        return (f"alerts: connection {channel.conn_id!r} ({channel.setting}) has no webhook URL or token in its password field: "
                "Slack alerts are off")
    return None


def notifier_for(channel: Any, alert: Any) -> BaseNotifier:
    """The provider's notifier for one alert on one channel."""
    from mangaeval.alerts.messages import attributes, slack_payload, subject, text

    if channel.kind == "sns":
        from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

        return SnsNotifier(aws_conn_id=channel.conn_id, target_arn=channel.topic_arn, message=text(alert), subject=subject(alert),
                           message_attributes=attributes(alert), region_name=channel.region)
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    payload = slack_payload(alert)
    return SlackWebhookNotifier(slack_webhook_conn_id=channel.conn_id, text=payload["text"], blocks=payload["blocks"],
                                timeout=SLACK_TIMEOUT_S)


def deliver(alerts: list[Any], context: Mapping[str, Any] | None = None, settings: Mapping[str, str] | None = None) -> Delivery:
    """Send every alert to every configured channel; never raises."""
    from mangaeval.alerts.channels import configured_channels, nothing_configured_message
    from mangaeval.alerts.messages import text

    delivery = Delivery()
    if not alerts:
        return delivery
    for alert in alerts:  # the task log carries the message whatever happens to the channels
        log.log(logging.INFO if alert.severity == "info" else logging.WARNING, "alert (%s):\n%s", alert.event, text(alert))
    channels, problems = configured_channels(os.environ if settings is None else settings)
    for problem in problems:
        _once(logging.ERROR, f"alerts: {problem}")
    delivery.configured = bool(channels or problems)
    if not delivery.configured:
        _once(logging.INFO, nothing_configured_message())
    for channel in channels:
        problem = channel_problem(channel)
        if problem:
            _once(logging.ERROR, problem)
            delivery.results += [{"alert": a, "channel": channel.kind, "sent": False, "error": problem} for a in alerts]
            continue
        for alert in alerts:
            try:
                notifier_for(channel, alert).notify(dict(context or {}))  # the message is final: no template rendering
            except Exception as exc:
                error = f"alerts: the {alert.event} alert was not sent to {channel.describe()}: {describe_error(exc)}; the task's result stands"
                log.error(error)
                delivery.results.append({"alert": alert, "channel": channel.kind, "sent": False, "error": error})
            else:
                log.info("alerts: %s alert sent to %s", alert.event, channel.describe())
                delivery.results.append({"alert": alert, "channel": channel.kind, "sent": True, "error": None})
    return delivery


# --- what each callback point alerts on -------------------------------------------------------------------------

def run_ref(context: Mapping[str, Any]) -> Any:
    """The run and task of the callback; the API server's base URL from the task's log URL (Airflow builds it from
    [api] base_url), so dashboard links point at the same server."""
    from mangaeval.alerts.messages import RunRef

    ti = context["ti"]
    dag_run = context.get("dag_run")
    try:
        log_url = ti.log_url
    except Exception:  # not a runtime task instance (a test's stand-in): no link
        log_url = None
    base_url = log_url.split("/dags/", 1)[0] if log_url and "/dags/" in log_url else None
    return RunRef(ti.dag_id, getattr(dag_run, "run_id", None) or context.get("run_id") or ti.run_id, ti.task_id, log_url, base_url)


def routing_store_uri() -> str:
    """Where the routing table, experiments and rollouts are published (mangaeval.objectstore.open_store's default)."""
    from mangaeval.paths import DATA_DIR

    return (os.environ.get("MANGAEVAL_ROUTING_URI") or str(DATA_DIR)).rstrip("/")


def routing_document() -> str:
    from mangaeval.routing.ledger import CURRENT

    return f"{routing_store_uri()}/{CURRENT}"


@dataclass
class Outcome:
    alerts: list[Any]
    after: Callable[[Delivery], None] | None = None  # told what was sent (state to keep)


def gate_failure(context: Mapping[str, Any]) -> Outcome:
    from mangaeval.alerts.events import gate_failed

    run = run_ref(context)
    exc = context.get("exception")
    failures = getattr(exc, "failures", None)
    error = None if failures else (describe_error(exc) if exc else "unknown (see the task log)")
    from mangaeval.paths import DATA_DIR

    results = os.environ.get("MANGAEVAL_RESULTS_URI") or str(DATA_DIR)  # as pipeline.storage.default_results_root
    return Outcome([gate_failed(run, failures, error, routing_document(), f"{results.rstrip('/')}/results/run_id={run.run_id}/")])


def routing_published(context: Mapping[str, Any]) -> Outcome:
    from mangaeval.alerts.events import routing_alerts
    from mangaeval.routing.precedence import load_precedence
    from mangaeval.warehouse.policy import load_policy

    ti = context["ti"]
    policy = load_policy()
    limits = {"min_pass_rate": policy.min_pass_rate, "sla_p95_ms": policy.sla_p95_ms, "max_error_rate": policy.max_error_rate}
    return Outcome(routing_alerts(run_ref(context), ti.xcom_pull(task_ids="decide"), ti.xcom_pull(task_ids=ti.task_id), limits,
                                  routing_document(), load_precedence().min_cases_per_intent))


def ab_analysed(context: Mapping[str, Any]) -> Outcome:
    """A decision is alerted once: the last decision seen per experiment is kept in the routing store, and a look
    alerts only when its decision differs (or a proposal was applied)."""
    from mangaeval.alerts.events import ab_alerts, ab_decisions
    from mangaeval.objectstore import open_store

    ti = context["ti"]
    analysed = ti.xcom_pull(task_ids=ti.task_id)
    store = open_store()
    try:
        found = store.get(AB_STATE_KEY)
        seen = json.loads(found[0])["decisions"] if found else {}
    except Exception as exc:
        log.error("alerts: %s/%s unreadable (%s): every A/B decision of this look alerts", store.uri, AB_STATE_KEY, describe_error(exc))
        seen = {}
    by_experiment = ab_alerts(run_ref(context), analysed, seen, routing_document())

    def remember(delivery: Delivery) -> None:
        if not delivery.configured:
            return  # alerts are off: a channel configured later still hears of the standing decisions
        state = {**seen, **{e: d for e, d in ab_decisions(analysed).items() if not delivery.failed(by_experiment.get(e))}}
        if state != seen:
            try:
                store.put(AB_STATE_KEY, (json.dumps({"decisions": state}, indent=2, sort_keys=True) + "\n").encode())
            except Exception as exc:
                log.error("alerts: could not record the A/B decisions alerted in %s/%s (%s): the next look may repeat them",
                          store.uri, AB_STATE_KEY, describe_error(exc))

    return Outcome(list(by_experiment.values()), remember)


def canary_report(context: Mapping[str, Any]) -> Outcome:
    from mangaeval.alerts.events import canary_alerts
    from mangaeval.canary import split
    from mangaeval.objectstore import open_store

    ti = context["ti"]
    plan = ti.xcom_pull(task_ids="plan")
    if not plan:
        return Outcome([])  # the plan failed: no traffic ever moved
    store = open_store()
    record = split.rolled_back(store, plan["rollout_id"])
    keys = {"record": f"{store.uri}/{split.rollback_key(plan['rollout_id'])}", "split": f"{store.uri}/{split.CURRENT}",
            "routing": routing_document()}
    return Outcome(canary_alerts(run_ref(context), plan, record, ti.xcom_pull(task_ids=ti.task_id), keys))


def benchmark_compared(context: Mapping[str, Any]) -> Outcome:
    """model_benchmark's compare task returned its verdicts: an alert when a figure regressed."""
    from mangaeval.alerts.events import benchmark_regression
    from mangaeval.bench.baselines import BASELINES

    ti = context["ti"]
    alert = benchmark_regression(run_ref(context), ti.xcom_pull(task_ids=ti.task_id), f"{routing_store_uri()}/{BASELINES}")
    return Outcome([alert] if alert else [])


TASK_FAILURES_KEY = "alerts/task_failures/"  # in the routing store: one marker per run that has alerted a failed task


def task_failure(context: Mapping[str, Any]) -> Outcome:
    """Any task's final failure (a DAG's default on_failure_callback), alerted once per run: the first failing task
    creates the run's marker only-if-absent, so tasks failing together on several workers send one alert."""
    from mangaeval.alerts.channels import configured_channels
    from mangaeval.alerts.events import task_failed
    from mangaeval.objectstore import PreconditionFailed, open_store
    from mangaeval.paths import safe_name

    run = run_ref(context)
    exc = context.get("exception")
    if type(exc).__name__ == "BenchmarkRegression":
        return Outcome([])  # model_benchmark's gate: the benchmark_regression alert has said it
    alert = task_failed(run, describe_error(exc) if exc else "unknown (see the task log)", getattr(context["ti"], "try_number", None))
    channels, problems = configured_channels(os.environ)
    if not (channels or problems):
        return Outcome([alert])  # alerts off: the log line only, and no marker (a channel configured later hears of it)
    key = f"{TASK_FAILURES_KEY}{run.dag_id}/{safe_name(run.run_id)}.json"
    store = open_store()
    try:
        store.put(key, (json.dumps({"task_id": run.task_id, "run_id": run.run_id}) + "\n").encode(), if_none_match=True)
    except PreconditionFailed:
        log.info("alerts: a failed task of run %s was already alerted (%s/%s): %s not alerted again", run.run_id, store.uri, key,
                 run.task_id)
        return Outcome([])
    except Exception as exc:
        log.error("alerts: could not record the alert in %s/%s (%s): alerting anyway", store.uri, key, describe_error(exc))
    return Outcome([alert])


POINTS: dict[str, Callable[[Mapping[str, Any]], Outcome]] = {
    "gate_failure": gate_failure, "routing_published": routing_published, "ab_analysed": ab_analysed, "canary_report": canary_report,
    "benchmark_compared": benchmark_compared, "task_failure": task_failure}


class AlertNotifier(BaseNotifier):
    """A task callback: the alerts of one point of a DAG, sent to every configured channel. Never raises."""

    template_fields = ()

    def __init__(self, point: str):
        super().__init__()
        if point not in POINTS:
            raise ValueError(f"alert point {point!r}: not one of {sorted(POINTS)}")
        self.point = point

    def notify(self, context: Any) -> None:
        try:
            outcome = POINTS[self.point](context)
        except Exception as exc:
            log.error("alerts: could not build the %s alert (%s); the task's result stands", self.point, describe_error(exc))
            return
        log.info("alerts: %s: %s", self.point, f"{len(outcome.alerts)} alert(s)" if outcome.alerts else "nothing to alert")
        try:
            delivery = deliver(outcome.alerts, context)
            if outcome.after:
                outcome.after(delivery)
        except Exception as exc:  # deliver never raises; this is the last guard for the task's result
            log.error("alerts: %s: %s; the task's result stands", self.point, describe_error(exc))


def alert_on(point: str) -> AlertNotifier:
    """What a DAG file wires: `@task(on_failure_callback=alert_on("gate_failure"))`."""
    return AlertNotifier(point)
