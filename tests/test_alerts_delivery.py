"""Alerts delivered through the Airflow notifiers: the Amazon provider's SnsNotifier to an SNS topic on moto's
server (an SQS queue subscribed to it reads back what was delivered) and the Slack provider's
SlackWebhookNotifier to a local webhook receiver, both named by Airflow connections (AIRFLOW_CONN_<ID>). Bad
settings are said in one clear line, never raised; the callbacks of each DAG point build their alerts from
what the steps really return (a nightly decision and publish, a rollback record, A/B looks)."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from mangaeval.alerts import notify
from mangaeval.alerts.events import gate_failed
from mangaeval.alerts.messages import RunRef
from tests.alert_receivers import SnsTopic, WebhookReceiver, aws_connection

pytestmark = pytest.mark.integration
RUN = RunRef("model_evaluation", "manual__2026-11-22T02:00:00+00:00", "validation_gate")
FAILURE = "shard haiku-3-5/faq: expect_column_mean_to_be_between: column='is_error', max_value=0.1: observed 1.0"


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch):
    """No alert setting from the machine; 'said once' starts afresh for each test."""
    for name in ("MANGAEVAL_ALERT_SNS_TOPIC_ARN", "MANGAEVAL_ALERT_SNS_CONN_ID", "MANGAEVAL_ALERT_SLACK_CONN_ID", "MANGAEVAL_AWS_CONN_ID",
                 "MANGAEVAL_ROUTING_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(notify, "_said", set())


@pytest.fixture
def webhook(monkeypatch):
    with WebhookReceiver() as receiver:
        monkeypatch.setenv("AIRFLOW_CONN_ALERTS_SLACK", receiver.connection())
        monkeypatch.setenv("MANGAEVAL_ALERT_SLACK_CONN_ID", "alerts_slack")
        yield receiver


@pytest.fixture
def topic(s3_server, monkeypatch):
    """A fresh topic on moto's server (conftest's module-wide moto server serves SNS and SQS too)."""
    made = SnsTopic(s3_server, f"alerts-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("AIRFLOW_CONN_ALERTS_AWS", aws_connection(s3_server))
    monkeypatch.setenv("MANGAEVAL_ALERT_SNS_CONN_ID", "alerts_aws")
    monkeypatch.setenv("MANGAEVAL_ALERT_SNS_TOPIC_ARN", made.arn)
    return made


def test_one_alert_reaches_the_sns_topic_and_the_slack_webhook(topic, webhook):
    alert = gate_failed(RUN, [FAILURE], None, "data/routing/current.json", "data/results/run_id=x/")
    delivery = notify.deliver([alert], {})
    assert [(r["channel"], r["sent"]) for r in delivery.results] == [("sns", True), ("slack", True)]
    [message] = topic.messages()
    full = f"[mangaeval critical] validation gate failed: model_evaluation run {RUN.run_id} (1 expectation(s))"
    assert message["Subject"] == full[:96] + "..."  # SNS takes fewer than 100 characters
    assert "What happened:" in message["Message"] and FAILURE in message["Message"] and "- Task: validation_gate" in message["Message"]
    assert {k: v["Value"] for k, v in message["MessageAttributes"].items()} == {"event": "gate_failed", "severity": "critical"}
    [post] = webhook.posts
    assert post["path"] == "/services/T000/B000/XXXX" and post["content_type"].startswith("application/json")
    assert post["body"]["text"].endswith(f"validation gate failed: model_evaluation run {RUN.run_id} (1 expectation(s))")
    assert [b["type"] for b in post["body"]["blocks"]] == ["header", "section", "section", "section", "context"]
    assert "*Task*: `validation_gate`" in post["body"]["blocks"][2]["text"]["text"]


def problems_logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mangaeval.alerts.notify" and r.levelno >= logging.ERROR]


@pytest.mark.parametrize("setting, value, expected", [
    ("MANGAEVAL_ALERT_SNS_CONN_ID", "no_such_aws", "names connection 'no_such_aws', which is not defined in Airflow"),
    ("MANGAEVAL_ALERT_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:", "is not an SNS topic ARN"),
    ("MANGAEVAL_ALERT_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:never-created",
     "the gate_failed alert was not sent to SNS topic arn:aws:sns:us-east-1:123456789012:never-created (connection 'alerts_aws'): NotFound:"),
    ("MANGAEVAL_ALERT_SLACK_CONN_ID", "no_such_slack", "names connection 'no_such_slack', which is not defined in Airflow"),
])
def test_a_bad_setting_is_one_clear_line_and_the_other_channel_still_sends(topic, webhook, monkeypatch, caplog, setting, value, expected):
    monkeypatch.setenv(setting, value)
    caplog.set_level(logging.INFO)
    alert = gate_failed(RUN, [FAILURE], None, "r", None)
    for _ in range(2):
        notify.deliver([alert], {})  # never raises
    said = [p for p in problems_logged(caplog) if expected in p]
    refused = "NotFound" in expected  # a delivery refused is said per alert; a settings problem once per process
    assert len(said) == (2 if refused else 1) and len(problems_logged(caplog)) == len(said), problems_logged(caplog)
    assert "Traceback" not in caplog.text
    if setting.startswith("MANGAEVAL_ALERT_SNS"):
        assert len(webhook.posts) == 2  # Slack unaffected
    else:
        assert len(topic.messages()) == 2
    if refused:
        assert said[0].endswith("; the task's result stands")


def test_a_webhook_that_refuses_and_a_connection_without_a_webhook_are_said_clearly(monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    alert = gate_failed(RUN, [FAILURE], None, "r", None)
    with WebhookReceiver(status=403) as refusing:
        monkeypatch.setenv("AIRFLOW_CONN_ALERTS_SLACK", refusing.connection())
        monkeypatch.setenv("MANGAEVAL_ALERT_SLACK_CONN_ID", "alerts_slack")
        [result] = notify.deliver([alert], {}).results
    assert not result["sent"] and "Status Code: 403" in result["error"] and "invalid_token" in result["error"]
    monkeypatch.setenv("AIRFLOW_CONN_ALERTS_SLACK", json.dumps({"conn_type": "slackwebhook", "host": "hooks.slack.com"}))
    [result] = notify.deliver([alert], {}).results
    assert "has no webhook URL or token in its password field" in result["error"]
    assert "Traceback" not in caplog.text and len(problems_logged(caplog)) == 2


def test_nothing_configured_sends_nothing_and_says_so_once(caplog):
    caplog.set_level(logging.INFO)
    alert = gate_failed(RUN, [FAILURE], None, "r", None)
    for _ in range(3):
        delivery = notify.deliver([alert], {})
        assert not delivery.configured and delivery.results == []
    said = [r.getMessage() for r in caplog.records if "no channel configured" in r.getMessage()]
    assert len(said) == 1 and "MANGAEVAL_ALERT_SLACK_CONN_ID" in said[0]
    assert sum("validation gate failed" in r.getMessage() for r in caplog.records) == 3  # the task log still has each alert


class TaskInstance:
    """What a callback reads of Airflow's task instance: ids and the XComs of the run."""

    def __init__(self, dag_id: str, task_id: str, xcoms: dict, run_id: str = "manual__2026-11-22T02:00:00+00:00"):
        self.dag_id, self.task_id, self.run_id, self.xcoms = dag_id, task_id, run_id, xcoms

    def xcom_pull(self, task_ids: str):
        return self.xcoms.get(task_ids)


def test_routing_published_alerts_a_flagged_intent_and_a_switch_from_a_real_nightly_publish(webhook, tmp_path, monkeypatch):
    from mangaeval.objectstore import LocalStore
    from mangaeval.pipeline.publishing import commit_nightly
    from tests.ledger_helpers import nightly_decision, results, seed_routes

    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path))
    seed_routes(LocalStore(tmp_path), {"faq": "sonnet-3-5-v2", "recommendation": "sonnet-3-5-v2"})
    configs = {"sonnet-3-5-v2": 0.88, "haiku-3-5": 0.86}
    frame = results("night-2", ["faq", "recommendation"], configs,
                    quality={("recommendation", "sonnet-3-5-v2"): 0.6, ("recommendation", "haiku-3-5"): 0.6, ("faq", "haiku-3-5"): 0.9})
    decision = nightly_decision(frame, {"faq": "sonnet-3-5-v2", "recommendation": "sonnet-3-5-v2"})
    published = commit_nightly(decision, "night-2", "2026-11-26T02:00:00Z", None)
    ti = TaskInstance("model_evaluation", "publish_routing", {"decide": decision, "publish_routing": published}, run_id="night-2")
    notify.alert_on("routing_published")({"ti": ti, "run_id": "night-2"})
    flagged, changed = [p["body"] for p in webhook.posts]
    assert flagged["text"].endswith("no configuration meets the routing policy for recommendation (run night-2)")
    assert "sonnet-3-5-v2 keeps serving, flagged" in flagged["blocks"][1]["text"]["text"]
    assert changed["text"].endswith("routing changed for faq (ledger v2, nightly run night-2)")
    assert "faq: sonnet-3-5-v2 -&gt; haiku-3-5" in changed["blocks"][1]["text"]["text"]
    assert f"`{tmp_path}/routing/current.json`" in changed["blocks"][2]["text"]["text"]


def test_ab_analysed_says_a_standing_decision_once_and_a_new_one_again(webhook, tmp_path, monkeypatch):
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path))
    look = {"decision": "PROMOTE_TREATMENT", "reasons": ["quality +0.03"], "proposal": "p", "applied": None}

    def analyse(decision_of_x: str) -> None:
        analysed = {"experiments": {"x": {**look, "decision": decision_of_x}, "y": {"decision": "CONTINUE", "reasons": []}}}
        notify.alert_on("ab_analysed")({"ti": TaskInstance("ab_analysis", "analyze", {"analyze": analysed})})

    analyse("PROMOTE_TREATMENT")
    analyse("PROMOTE_TREATMENT")  # the next hour: the same proposal stands
    assert len(webhook.posts) == 1 and "A/B x: promoting the treatment is proposed" in webhook.posts[0]["body"]["text"]
    assert json.loads((tmp_path / "alerts" / "ab_decisions.json").read_text())["decisions"] == {"x": "PROMOTE_TREATMENT", "y": "CONTINUE"}
    analyse("ROLLBACK")
    assert len(webhook.posts) == 2 and "rollback proposed" in webhook.posts[1]["body"]["text"]


def test_ab_decisions_are_not_marked_seen_while_alerts_are_off(tmp_path, monkeypatch):
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path))
    analysed = {"experiments": {"x": {"decision": "REVIEW", "reasons": []}}}
    notify.alert_on("ab_analysed")({"ti": TaskInstance("ab_analysis", "analyze", {"analyze": analysed})})
    assert not (tmp_path / "alerts").exists()  # a channel configured later still hears of it


def test_canary_report_alerts_the_rollback_recorded_in_the_store(webhook, tmp_path, monkeypatch):
    from mangaeval.canary import split
    from mangaeval.objectstore import LocalStore

    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path))
    store = LocalStore(tmp_path)
    split.start(store, "r-9", "haiku-4-5", ["chitchat"])
    split.advance(store, "r-9", 1, 5.0, "haiku-4-5", ["chitchat"])
    split.rollback(store, "r-9", ["quality: 0.61 below the floor 0.70"], 1)
    plan = {"rollout_id": "r-9", "candidate_config_id": "haiku-4-5", "intents": ["chitchat"], "mode": "live",
            "policy": {"stages": [{"traffic_pct": 5}, {"traffic_pct": 25}]}}
    notify.alert_on("canary_report")({"ti": TaskInstance("canary_rollout", "report", {"plan": plan})})  # report failed: no XCom
    [post] = webhook.posts
    assert post["body"]["text"].endswith("canary rollout r-9 rolled back at stage 1 (5% canary)")
    body = json.dumps(post["body"])
    assert "Reason: quality: 0.61 below the floor 0.70" in body and f"{tmp_path}/canary/r-9/rollback.json" in body
    notify.alert_on("canary_report")({"ti": TaskInstance("canary_rollout", "report", {})})  # the plan failed: nothing moved
    assert len(webhook.posts) == 1


def test_an_alert_that_cannot_be_built_is_logged_and_never_fails_the_task(webhook, caplog):
    class Broken(TaskInstance):
        def xcom_pull(self, task_ids: str):
            raise ConnectionError("the API server went away")

    caplog.set_level(logging.INFO)
    notify.alert_on("routing_published")({"ti": Broken("model_evaluation", "publish_routing", {})})
    assert "could not build the routing_published alert (ConnectionError: the API server went away)" in caplog.text
    assert "Traceback" not in caplog.text and webhook.posts == []
    with pytest.raises(ValueError, match="alert point 'gate'"):
        notify.alert_on("gate")


def test_a_failed_task_is_alerted_once_per_run_even_when_several_fail(webhook, tmp_path, monkeypatch):
    from mangaeval.bench.steps import BenchmarkRegression

    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path))
    throttled = RuntimeError("ThrottlingException: Too many requests, please wait before trying again.")

    def fail(dag_id: str, task_id: str, run_id: str, exc: Exception, attempts: int = 3) -> None:
        ti = TaskInstance(dag_id, task_id, {}, run_id=run_id)
        ti.try_number = attempts
        notify.alert_on("task_failure")({"ti": ti, "exception": exc})

    fail("model_evaluation", "evaluate_sonnet", "night-1", throttled)
    fail("model_evaluation", "evaluate_haiku", "night-1", throttled)  # the same run: not again
    [post] = webhook.posts
    body = json.dumps(post["body"])
    assert post["body"]["text"].endswith("model_evaluation: task evaluate_sonnet failed (run night-1)")
    assert "failed after 3 attempts: RuntimeError: ThrottlingException" in body and "production routing is unchanged" in body
    assert "the run's cache" in body
    fail("model_evaluation", "evaluate_sonnet", "night-2", throttled)  # the next night: alerted
    assert len(webhook.posts) == 2
    fail("model_benchmark", "regression_gate", "week-1", BenchmarkRegression("2 regression(s)"), 1)  # its own alert said it
    assert len(webhook.posts) == 2
    fail("model_benchmark", "run_benchmarks", "week-1", RuntimeError("every measured call of haiku-3-5 failed"), 2)
    assert len(webhook.posts) == 3 and "No verdict from this run" in json.dumps(webhook.posts[2]["body"])
    assert sorted(p.name for p in (tmp_path / "alerts" / "task_failures" / "model_evaluation").iterdir()) == ["night-1.json", "night-2.json"]


def test_a_failed_task_with_alerts_off_leaves_no_marker(tmp_path, monkeypatch):
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path))
    notify.alert_on("task_failure")({"ti": TaskInstance("model_evaluation", "plan", {}), "exception": ValueError("bad")})
    assert not (tmp_path / "alerts").exists()  # a channel configured later still hears of the next failure
