"""Alert messages (mangaeval.alerts.events, .messages) and channel settings (.channels): pure functions, no I/O.
Each message says what happened, where to look and what to do; SNS and Slack get what their APIs accept."""

from __future__ import annotations

import pytest

from mangaeval.alerts import events
from mangaeval.alerts.channels import configured_channels
from mangaeval.alerts.messages import Alert, RunRef, slack_payload, subject, text

RUN = RunRef("model_evaluation", "manual__2026-11-22T02:00:00+00:00", "validation_gate",
             log_url="http://airflow:8080/dags/model_evaluation/runs/x/tasks/validation_gate", base_url="http://airflow:8080/")
ROUTING = "s3://mangaassist/serving/routing/current.json"
POLICY = {"min_pass_rate": 0.8, "sla_p95_ms": 3000.0, "max_error_rate": 0.05}
ERROR_RATE = "shard haiku-3-5/faq: expect_column_mean_to_be_between: column='is_error', min_value=0, max_value=0.1: observed 1.0"


def sections(body: str) -> dict[str, list[str]]:
    found, current = {}, None
    for line in body.splitlines():
        if line.endswith(":") and not line.startswith("-"):
            current = found.setdefault(line[:-1], [])
        elif current is not None and line.startswith("- "):
            current.append(line[2:])
    return found


def test_a_failed_gate_says_what_failed_where_to_look_and_what_to_do():
    missing = "shard nova-lite/faq: no results (the shard did not run)"
    alert = events.gate_failed(RUN, [ERROR_RATE, missing], None, ROUTING, "s3://mangaassist/eval/results/run_id=x/")
    body = sections(text(alert))
    assert alert.event == "gate_failed" and alert.severity == "critical" and RUN.run_id in alert.title
    assert "2 expectation(s)" in body["What happened"][0] and "haiku-3-5/faq, nova-lite/faq" in body["What happened"][0]
    assert body["What happened"][1:] == [ERROR_RATE, missing]
    where = dict(alert.where)
    assert where["DAG"] == "model_evaluation" and where["Run"] == RUN.run_id and where["Task"] == "validation_gate"
    assert where["Task log"] == RUN.log_url and where["Routing document (unchanged)"] == ROUTING
    assert where["Dashboard (what serves now)"] == "http://airflow:8080/mangaeval/routing"
    todo = " ".join(body["What to do"])
    assert "quotas" in todo and "evaluate_<tier>" in todo and "nothing to roll back" in todo  # both causes get their advice
    assert "malformed" not in todo  # no schema failure among them


def test_a_gate_that_could_not_run_says_so_and_a_schema_failure_points_at_the_data():
    crashed = events.gate_failed(RUN, None, "FileNotFoundError: s3://b/results/run_id=x/...: no such shard", ROUTING, None)
    assert crashed.title.startswith("validation gate could not run: model_evaluation run") and "no such shard" in crashed.happened[0]
    assert any("could not read" in t for t in crashed.todo) and crashed.where_value("Results") is None
    schema = events.gate_failed(RUN, ["shard haiku-3-5/faq: expect_table_row_count_to_equal: value=30: observed 29"], None, ROUTING, None)
    assert any("malformed" in t for t in schema.todo) and not any("quotas" in t for t in schema.todo)


def test_long_lists_are_cut_and_the_sns_subject_is_one_short_ascii_line():
    failures = [f"shard c{i}/faq: expect_column_values_to_not_be_null: column='latency_ms'" for i in range(200)]
    run = RunRef("model_evaluation", "manual__" + "x" * 150 + "ー", "validation_gate")
    alert = events.gate_failed(run, failures, None, ROUTING, None)
    happened = sections(text(alert))["What happened"]
    assert len(happened) == 12 and happened[-1] == "... and 190 more (see the task log)"
    line = subject(alert)
    assert len(line) <= 99 and line.isascii() and "\n" not in line and line.startswith("[mangaeval critical] validation gate failed: model_evaluation run")


def test_slack_gets_block_kit_within_its_limits_with_text_escaped_and_links_linked():
    alert = Alert("gate_failed", "critical", "a <b> & c " + "t" * 300, ("x < y & z",) * 3, (("Log", "http://a/b?c=1"), ("Key", "k<1>")),
                  ("do " + "d" * 4000,))
    payload = slack_payload(alert)
    header, happened, where, todo, footer = payload["blocks"]
    assert header["type"] == "header" and len(header["text"]["text"]) <= 150
    assert "x &lt; y &amp; z" in happened["text"]["text"]
    assert "<http://a/b?c=1>" in where["text"]["text"] and "`k&lt;1&gt;`" in where["text"]["text"]
    assert len(todo["text"]["text"]) <= 3000 and footer["type"] == "context"
    assert payload["text"].startswith(":rotating_light: a <b>")  # the notification text is shown as is
    with pytest.raises(ValueError, match="not one of"):
        Alert("gate_broke", "critical", "t", (), (), ())


def decision_with(flagged: bool) -> dict:
    rec = {"config_id": "sonnet-3-5-v2", "recommended_config_id": None if flagged else "haiku-3-5", "flagged": flagged,
           "reason": "no configuration meets the policy: current routing kept" if flagged else "cheapest"}
    return {"intents": ["faq", "recommendation"],
            "recommendation": {"recommendation": rec, "faq": {**rec, "flagged": False, "recommended_config_id": "haiku-3-5"}},
            "aggregates": [{"intent": "recommendation", "config_id": "haiku-3-5", "pass_rate": 0.58, "latency_p95_ms": 890.0,
                            "error_rate": 0.0, "mean_quality": 0.72},
                           {"intent": "recommendation", "config_id": "nova-lite", "pass_rate": 0.40, "latency_p95_ms": 500.0,
                            "error_rate": 0.0, "mean_quality": 0.65},
                           {"intent": "faq", "config_id": "haiku-3-5", "pass_rate": 0.95, "latency_p95_ms": 700.0,
                            "error_rate": 0.0, "mean_quality": 0.9}]}


def test_a_flagged_route_names_the_intent_the_policy_the_closest_configuration_and_the_pages():
    published = {"version": 3, "changes": [], "routes": {"recommendation": "sonnet-3-5-v2", "faq": "haiku-3-5"}}
    run = RunRef("model_evaluation", "scheduled__2026-11-22T02:00:00+00:00", "publish_routing")
    alerts = events.routing_alerts(run, decision_with(True), published, POLICY, ROUTING)
    assert [a.event for a in alerts] == ["route_flagged"]
    alert = alerts[0]
    assert "recommendation" in alert.title and "faq" not in alert.title
    line = alert.happened[0]
    assert "none of haiku-3-5, nova-lite meets the policy (pass rate >= 80%, P95 <= 3,000 ms, error rate <= 5%)" in line
    assert "closest: haiku-3-5 (pass rate 58%, P95 890 ms" in line and "sonnet-3-5-v2 keeps serving, flagged" in line
    assert alert.where_value("Dashboard (recommendation)") == \
        "/mangaeval/evaluation?run_id=scheduled__2026-11-22T02%3A00%3A00%2B00%3A00&intent=recommendation"
    assert alert.where_value("Routing document") == ROUTING and any("candidate" in t for t in alert.todo)
    assert events.routing_alerts(run, decision_with(False), published, POLICY, ROUTING) == []
    thin = decision_with(True)
    for row in thin["aggregates"]:
        row["ok_calls"] = 3
    assert events.routing_alerts(run, thin, published, POLICY, ROUTING, min_cases=30) == []  # 3 cases: too thin to flag
    assert len(events.routing_alerts(run, thin, published, POLICY, ROUTING, min_cases=3)) == 1


def test_a_routing_change_alerts_on_a_switch_and_not_on_refreshed_figures():
    run = RunRef("model_evaluation", "r1", "publish_routing")
    refresh = [{"intent": "faq", "kind": "refresh", "from": "haiku-3-5", "to": "haiku-3-5"}]
    assert events.routing_changed(run, refresh, 4, "nightly run r1", ROUTING, None) is None
    switch = refresh + [{"intent": "order_tracking", "kind": "switch", "from": "sonnet-3-5-v2", "to": "haiku-3-5"}]
    published = {"version": 4, "changes": switch, "entry": "s3://b/routing/ledger/v000004.json",
                 "projection": {"recommended_monthly_usd": 281234.5, "baseline_monthly_usd": 315000.0}}
    [alert] = events.routing_alerts(run, {"intents": [], "recommendation": {}}, published, POLICY, ROUTING)
    assert alert.event == "routing_changed" and alert.title == "routing changed for order_tracking (ledger v4, nightly run r1)"
    assert alert.happened[0] == "order_tracking: sonnet-3-5-v2 -> haiku-3-5" and "$281,234 against $315,000" in alert.happened[2]
    assert alert.where_value("Dashboard (diff)") == "/mangaeval/routing?a=3&b=4"
    assert alert.where_value("Ledger entry") == "s3://b/routing/ledger/v000004.json"
    assert any("mangaeval routing rollback 3" in t for t in alert.todo)


AB = "sonnet-4-5-vs-3-5-v2-recommendation"


def test_ab_decisions_alert_once_each_with_what_to_do_for_that_decision():
    run = RunRef("ab_analysis", "scheduled__2026-11-26T01:05:00+00:00", "analyze")
    promote = {"decision": "PROMOTE_TREATMENT", "reasons": ["quality +0.02"], "proposal": "data/ab/proposals/x/1.json", "applied": None}
    analysed = {"experiments": {AB: promote, "other": {"decision": "CONTINUE", "reasons": []}}}
    alerts = events.ab_alerts(run, analysed, {}, ROUTING)
    assert list(alerts) == [AB]
    alert = alerts[AB]
    assert alert.title == f"A/B {AB}: promoting the treatment is proposed" and alert.where_value("Proposal") == promote["proposal"]
    assert alert.where_value("Dashboard") == f"/mangaeval/experiments?experiment_id={AB}"
    assert any(f'{{"experiments": ["{AB}"], "apply_proposals": true}}' in t for t in alert.todo)
    assert events.ab_alerts(run, analysed, {AB: "PROMOTE_TREATMENT"}, ROUTING) == {}  # the next hour's look: said already
    assert events.ab_decisions(analysed) == {AB: "PROMOTE_TREATMENT", "other": "CONTINUE"}

    applied = {**promote, "applied": {"version": 7, "changed": True, "changes": [{"intent": "recommendation", "from": "sonnet-3-5-v2",
                                                                                 "to": "sonnet-4-5"}]}}
    alert = events.ab_alerts(run, {"experiments": {AB: applied}}, {AB: "PROMOTE_TREATMENT"}, ROUTING)[AB]  # applied: said again
    assert "promoted" in alert.title and "recommendation sonnet-3-5-v2 -> sonnet-4-5" in alert.happened[-1]
    assert any("mangaeval routing rollback 6" in t for t in alert.todo)

    frozen = {**promote, "applied": {"version": 6, "changed": False, "changes": [],
                                     "declined": [{"intent": "recommendation", "why": "under rollout r-1"}]}}
    alert = events.ab_proposal(run, AB, frozen, ROUTING)
    assert "did not change" in alert.title and "Not changed: recommendation: under rollout r-1" in alert.happened

    rollback = events.ab_proposal(run, AB, {"decision": "ROLLBACK", "reasons": ["guardrail escalated breached"], "applied": None}, ROUTING)
    assert rollback.severity == "warning" and "Apply it soon" in rollback.todo[0]
    review = events.ab_proposal(run, AB, {"decision": "REVIEW", "reasons": ["better but costlier"]}, ROUTING)
    assert "a person decides" in review.title and any("max_cost_increase_usd" in t for t in review.todo)
    assert events.ab_proposal(run, AB, {"decision": "INVALID", "reasons": []}, ROUTING) is None


PLAN = {"rollout_id": "r-7", "candidate_config_id": "haiku-4-5", "intents": ["chitchat"], "mode": "live",
        "policy": {"stages": [{"traffic_pct": 5}, {"traffic_pct": 25}, {"traffic_pct": 50}, {"traffic_pct": 100}]}}
KEYS = {"record": "s3://b/canary/r-7/rollback.json", "split": "s3://b/canary/current.json", "routing": ROUTING}


def test_a_canary_rollback_says_at_which_stage_why_and_whether_it_was_a_verdict_or_a_failed_task():
    run = RunRef("canary_rollout", "manual__r", "report")
    record = {"stage": 2, "reasons": ["latency: P95 ratio 1.31 > 1.10"], "rolled_back_at": "2026-11-22T03:10:00"}
    [alert] = events.canary_alerts(run, PLAN, record, {"routing": {"changed": True, "version": 9}}, KEYS)
    assert alert.event == "canary_rollback" and alert.severity == "warning"
    assert alert.title == "canary rollout r-7 rolled back at stage 2 (25% canary)"
    assert "Reason: latency: P95 ratio 1.31 > 1.10" in alert.happened and "routing ledger version 9" in alert.happened[-1]
    assert alert.where_value("Dashboard") == "/mangaeval/rollouts?rollout_id=r-7" and alert.where_value("Rollback record") == KEYS["record"]
    assert "Nothing urgent" in alert.todo[0]
    failed = {"stage": 0, "reasons": ["a task of the rollout failed during or after stage 0: nothing judged, traffic taken back to version 0"]}
    alert = events.canary_rollback(run, {**PLAN, "mode": "simulate"}, failed, None, KEYS)
    assert "warm-up" in alert.title and alert.severity == "info" and "not a verdict" in alert.todo[0]
    completed = {"result": "completed", "routing": {"routing": {"version": 10, "entry": "e"},
                                                    "changes": [{"intent": "chitchat", "from": "sonnet-3-5-v2", "to": "haiku-4-5"}]}}
    [alert] = events.canary_alerts(run, PLAN, None, completed, KEYS)
    assert alert.event == "routing_changed" and "rollout r-7 completed" in alert.title
    assert events.canary_alerts(run, None, record, None, KEYS) == []  # the plan failed: nothing moved


ARN = "arn:aws:sns:eu-west-1:123456789012:mangaeval-alerts"


@pytest.mark.parametrize("settings, kinds, problem", [
    ({}, [], None),
    ({"MANGAEVAL_ALERT_SLACK_CONN_ID": "slack_alerts"}, ["slack"], None),
    ({"MANGAEVAL_ALERT_SNS_TOPIC_ARN": ARN, "MANGAEVAL_ALERT_SNS_CONN_ID": "aws_alerts"}, ["sns"], None),
    ({"MANGAEVAL_ALERT_SNS_TOPIC_ARN": "arn:aws:sns:eu-west-1:1234:bad name"}, [], "is not an SNS topic ARN"),
    ({"MANGAEVAL_ALERT_SNS_TOPIC_ARN": "mangaeval-alerts", "MANGAEVAL_ALERT_SLACK_CONN_ID": "s"}, ["slack"], "is not an SNS topic ARN"),
    ({"MANGAEVAL_ALERT_SNS_CONN_ID": "aws_alerts"}, [], "MANGAEVAL_ALERT_SNS_TOPIC_ARN is not"),
])
def test_channel_settings(settings, kinds, problem):
    channels, problems = configured_channels(settings)
    assert [c.kind for c in channels] == kinds
    assert (problem is None and problems == []) or (len(problems) == 1 and problem in problems[0])


def test_sns_publishes_in_the_topics_region_through_the_named_or_the_projects_connection():
    [sns] = configured_channels({"MANGAEVAL_ALERT_SNS_TOPIC_ARN": f"{ARN}.fifo", "MANGAEVAL_ALERT_SNS_CONN_ID": "aws_alerts"})[0]
    assert (sns.conn_id, sns.region, sns.topic_arn) == ("aws_alerts", "eu-west-1", f"{ARN}.fifo")
    [sns] = configured_channels({"MANGAEVAL_ALERT_SNS_TOPIC_ARN": ARN.replace("aws:", "aws-us-gov:", 1).replace("eu-west-1", "us-gov-west-1")})[0]
    assert (sns.conn_id, sns.region) == ("aws_default", "us-gov-west-1")
    [sns] = configured_channels({"MANGAEVAL_ALERT_SNS_TOPIC_ARN": ARN, "MANGAEVAL_AWS_CONN_ID": "aws_prod"})[0]
    assert sns.conn_id == "aws_prod"


def _figure(config_id: str, figure: str, status: str, baseline: float, current: float, unit: str = "ms") -> dict:
    return {"config_id": config_id, "benchmark": "latency", "figure": figure, "status": status, "baseline": baseline, "current": current,
            "ratio": current / baseline, "ci_low": current / baseline - 0.05, "ci_high": current / baseline + 0.05, "unit": unit,
            "baseline_version": 3, "baseline_result_id": "20261123T040000Z-aaaaaa", "threshold": 0.1, "margin": 0.0}


def test_a_benchmark_regression_names_each_figure_its_baseline_and_how_to_accept_it():
    run = RunRef("model_benchmark", "scheduled__2026-11-30T04:00:00+00:00", "compare_to_baselines")
    comparison = {"result_id": "20261130T040012Z-bbbbbb", "environment": "aws", "threshold": 0.1,
                  "report": "s3://b/benchmarks/reports/20261130T040012Z-bbbbbb/report.html",
                  "markdown": "s3://b/benchmarks/reports/20261130T040012Z-bbbbbb/comparison.md",
                  "result": "s3://b/benchmarks/results/20261130T040012Z-bbbbbb.json",
                  "figures": [_figure("sonnet-4-5", "latency_p95_ms", "REGRESSION", 2000.0, 2400.0),
                              _figure("haiku-3-5", "latency_p95_ms", "PASS", 900.0, 910.0)]}
    alert = events.benchmark_regression(run, comparison, "s3://b/benchmarks/baselines/")
    body = sections(text(alert))
    assert alert.event == "benchmark_regression" and alert.severity == "warning"
    assert "1 figure(s) of sonnet-4-5 (aws)" in alert.title
    assert body["What happened"][1].startswith("P95 latency of sonnet-4-5: 2,400 ms vs baseline 2,000 ms (v3, result 20261123T040000Z-aaaaaa): +20.0%")
    assert not any("haiku-3-5" in line for line in body["What happened"])  # a PASS is not alerted
    assert alert.where_value("Report") == comparison["report"] and alert.where_value("Baselines") == "s3://b/benchmarks/baselines/"
    assert any("mangaeval bench accept --result-id 20261130T040012Z-bbbbbb --environment aws --configs sonnet-4-5" in t for t in alert.todo)
    line = subject(alert)
    assert len(line) <= 99 and line.isascii()
    comparison["figures"] = comparison["figures"][1:]
    assert events.benchmark_regression(run, comparison, "s3://b/benchmarks/baselines/") is None
