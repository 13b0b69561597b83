"""Each alerting event as an Alert, from what the pipeline's steps return. Pure: plain data in, Alerts out.

- gate_failed: the Great Expectations gate of model_evaluation failed (or could not run);
- route_flagged: for an intent the run measured, no configuration meets the routing policy (the serving route
  is kept, flagged);
- routing_changed: the published routing table serves an intent with another configuration than before (a
  nightly run, a completed canary; an applied A/B proposal says so in its own alert);
- ab_proposal: ab_analysis decided PROMOTE_TREATMENT, ROLLBACK or REVIEW for an experiment (proposed, or applied);
- canary_rollback: a rollout was rolled back (a verdict, or a failed task);
- benchmark_regression: the weekly model_benchmark found a figure worse than its baseline beyond noise;
- task_failed: a task of model_evaluation or model_benchmark failed for good (its retries spent), once per run.
"""

from __future__ import annotations

import re
from typing import Any

from mangaeval.alerts.messages import Alert, RunRef

AB_ALERTING = ("PROMOTE_TREATMENT", "ROLLBACK", "REVIEW")
_SHARD = re.compile(r"^(shard|configuration) ([^:]+):")


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.0%}"


def _ms(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):,.0f} ms"


def _usd(value: Any) -> str:
    return "n/a" if value is None else f"${float(value):,.0f}"


# --- model_evaluation -------------------------------------------------------------------------------------------

def gate_failed(run: RunRef, failures: list[str] | None, error: str | None, routing_document: str, results: str | None) -> Alert:
    """`failures`: GateFailed.failures (the expectations that failed); `error`: the task's error when the gate
    could not reach a verdict (reading a shard failed, ...)."""
    untouched = "Nothing was loaded into the warehouse and the routing table was not touched."
    if failures:
        affected = sorted({m.group(2) for m in map(_SHARD.match, failures) if m})
        title = f"validation gate failed: model_evaluation run {run.run_id} ({len(failures)} expectation(s))"
        happened = [f"The Great Expectations gate failed {len(failures)} expectation(s) on the run's results"
                    + (f" ({', '.join(affected)})" if affected else "") + f". {untouched}", *failures]
    else:
        title = f"validation gate could not run: model_evaluation run {run.run_id}"
        happened = [f"The validation_gate task failed before reaching a verdict: {error}", untouched]
    where = [*run.places(), *([("Results", results)] if results else []), ("Routing document (unchanged)", routing_document),
             ("Dashboard (what serves now)", run.dashboard("routing"))]
    return Alert("gate_failed", "critical", title, tuple(happened), tuple(where), tuple(_gate_todo(failures or [], error)))


def _gate_todo(failures: list[str], error: str | None) -> list[str]:
    todo = []
    if any("'is_error'" in f for f in failures):
        todo.append("Too many model calls failed: the evaluate_<tier> task logs name the error codes. Throttling -> the quotas "
                    "(include/config/quotas.yaml) and the bedrock_<tier> pools; timeouts or 5xx -> the Bedrock/SageMaker endpoint; "
                    "access denied -> the AWS connection.")
    if any("the shard did not run" in f for f in failures):
        todo.append("A shard has no results: find the evaluate_<tier> task of this run that failed or was skipped; its log says why.")
    if any("'is_error'" not in f and "the shard did not run" not in f for f in failures):
        todo.append("Results are incomplete or malformed (row counts, nulls, ranges, duplicates): read the failed expectations "
                    "above and the shard's Parquet file under Results; a code or dataset defect, not the model.")
    if error:
        todo.append("Read the task log: the gate could not read or check the results (the object store, a missing shard file).")
    todo.append("Production routing is unchanged: nothing to roll back. Once fixed, clear this run's evaluate_<tier> tasks and "
                "what follows them (answers already paid for come from the run's cache: only failed calls are asked again), or "
                "trigger model_evaluation again.")
    return todo


def flagged_intents(decision: dict[str, Any], published: dict[str, Any], min_cases: int = 0) -> list[dict[str, Any]]:
    """Intents of the run where nothing met the policy: what serves now and the measured configuration closest to it.
    An intent measured on fewer than `min_cases` scored cases (the ledger's minimum to act) is too thin to flag."""
    measured: dict[str, list[dict[str, Any]]] = {}
    for row in decision.get("aggregates", []):
        measured.setdefault(row["intent"], []).append(row)
    out = []
    for intent in decision.get("intents") or sorted(decision.get("recommendation", {})):
        rec = (decision.get("recommendation") or {}).get(intent)
        if not rec or not rec.get("flagged"):
            continue
        rows = measured.get(intent, [])
        if max((int(r.get("ok_calls") or 0) for r in rows), default=0) < min_cases:
            continue
        best = max(rows, key=lambda r: (float(r.get("pass_rate") or 0), float(r.get("mean_quality") or 0)), default=None)
        out.append({"intent": intent, "serving": (published.get("routes") or {}).get(intent) or rec.get("config_id"),
                    "reason": rec.get("reason"), "measured": sorted(r["config_id"] for r in rows),
                    "closest": None if best is None else {k: best.get(k) for k in ("config_id", "pass_rate", "latency_p95_ms",
                                                                                    "error_rate", "mean_quality")}})
    return out


def route_flagged(run: RunRef, flagged: list[dict[str, Any]], policy: dict[str, float], routing_document: str) -> Alert | None:
    """`flagged`: flagged_intents(); `policy`: min_pass_rate, sla_p95_ms, max_error_rate."""
    if not flagged:
        return None
    rule = (f"pass rate >= {policy['min_pass_rate']:.0%}, P95 <= {policy['sla_p95_ms']:,.0f} ms, "
            f"error rate <= {policy['max_error_rate']:.0%}")
    intents = [f["intent"] for f in flagged]
    happened = []
    for f in flagged:
        closest = f.get("closest")
        near = "" if not closest else (f"; closest: {closest['config_id']} (pass rate {_pct(closest['pass_rate'])}, "
                                       f"P95 {_ms(closest['latency_p95_ms'])}, errors {_pct(closest['error_rate'])})")
        happened.append(f"{f['intent']}: none of {', '.join(f['measured']) or 'the configurations'} meets the policy ({rule}){near}. "
                        f"{f['serving']} keeps serving, flagged.")
    where = [*run.places(),
             *[(f"Dashboard ({i})", run.dashboard("evaluation", run_id=run.run_id, intent=i)) for i in intents],
             ("Failing answers", run.dashboard("answers", run_id=run.run_id, intent=intents[0])),
             ("Routing document", routing_document)]
    todo = ["Nothing breaks now: the serving route stays, but it does not meet the policy either.",
            f"Evaluate a configuration that may meet it: trigger model_evaluation with a `candidate` and intents {intents}.",
            "If the policy is too strict for this intent, review include/config/routing_policy.yaml (min_pass_rate, sla_p95_ms, "
            "max_error_rate): a change there is a product decision."]
    return Alert("route_flagged", "warning", f"no configuration meets the routing policy for {', '.join(intents)} (run {run.run_id})",
                 tuple(happened), tuple(where), tuple(todo))


def routing_changed(run: RunRef, changes: list[dict[str, Any]], version: int, actor: str, routing_document: str,
                    ledger_entry: str | None, projection: dict[str, Any] | None = None) -> Alert | None:
    """`changes`: ledger changes ({intent, from, to, reason?}); only those that switch configuration alert (a
    refresh of the same configuration's figures is not a routing change)."""
    switched = [c for c in changes if c.get("from") != c.get("to")]
    if not switched:
        return None
    happened = [f"{c['intent']}: {c.get('from') or 'nothing'} -> {c['to']}" + (f" ({c['reason']})" if c.get("reason") else "")
                for c in switched]
    happened.append(f"Published as routing ledger version {version} by {actor}; the live chatbot reads the new table.")
    if projection and projection.get("recommended_monthly_usd") is not None:
        happened.append(f"Projected monthly LLM cost of the routing now: {_usd(projection['recommended_monthly_usd'])} against "
                        f"{_usd(projection.get('baseline_monthly_usd'))} all-premium.")
    where = [*run.places(), ("Dashboard (diff)", run.dashboard("routing", a=max(version - 1, 0) or None, b=version)),
             ("Routing document", routing_document), *([("Ledger entry", ledger_entry)] if ledger_entry else [])]
    todo = ["Nothing to do if this was expected.",
            "Watch the changed intents' live quality, latency and cost over the next hours (dashboards, CloudWatch).",
            f"To undo: mangaeval routing rollback {version - 1} --why '...' (a new ledger entry puts the previous routes back)."
            if version > 1 else "To undo: publish the previous table by hand (this is the ledger's first version)."]
    intents = [c["intent"] for c in switched]
    return Alert("routing_changed", "info", f"routing changed for {', '.join(intents)} (ledger v{version}, {actor})",
                 tuple(happened), tuple(where), tuple(todo))


def routing_alerts(run: RunRef, decision: dict[str, Any] | None, published: dict[str, Any] | None, policy: dict[str, float],
                   routing_document: str, min_cases: int = 0) -> list[Alert]:
    """model_evaluation's publish_routing: flagged routes (on at least `min_cases` scored cases), then the routing change."""
    if not published:
        return []
    alerts = [route_flagged(run, flagged_intents(decision or {}, published, min_cases), policy, routing_document),
              routing_changed(run, published.get("changes") or [], int(published.get("version") or 0), f"nightly run {run.run_id}",
                              routing_document, published.get("entry"), published.get("projection"))]
    return [a for a in alerts if a is not None]


# --- ab_analysis ------------------------------------------------------------------------------------------------

def ab_proposal(run: RunRef, experiment_id: str, look: dict[str, Any], routing_document: str) -> Alert | None:
    """`look`: one experiment's entry of analyze_experiments() ({decision, reasons, proposal?, applied?})."""
    decision = look.get("decision")
    if decision not in AB_ALERTING:
        return None
    applied = look.get("applied")
    manual = f'trigger ab_analysis by hand with {{"experiments": ["{experiment_id}"], "apply_proposals": true}}'
    routing = (applied or {}).get("routing") if decision == "ROLLBACK" else applied
    version = (routing or {}).get("version")
    declined = [f"{d['intent']}: {d['why']}" for d in (routing or {}).get("declined") or []]
    if decision == "PROMOTE_TREATMENT" and applied and not (routing or {}).get("changed"):
        severity, title = "warning", f"A/B {experiment_id}: promotion applied, but the routing table did not change"
        todo = ["Read why below: an intent under a rollout or another experiment is not changed meanwhile; apply again once it is "
                "free, or route by hand (mangaeval routing)."]
    elif decision == "PROMOTE_TREATMENT" and applied:
        severity, title = "info", f"A/B {experiment_id}: treatment promoted, routing changed"
        todo = ["Nothing to do if this was expected: the treatment now serves the experiment's intents and the experiment has ended.",
                f"To undo: mangaeval routing rollback {version - 1} --why '...'." if version and version > 1 else
                "To undo: mangaeval routing rollback to the version before the promotion."]
    elif decision == "PROMOTE_TREATMENT":
        severity, title = "info", f"A/B {experiment_id}: promoting the treatment is proposed"
        todo = ["Review the experiment page (quality, cost, guardrails, business outcomes).",
                f"To apply: {manual}; the experiment's intents then route to the treatment and the experiment ends.",
                "To decline: do nothing; the proposal is never applied by itself (this alert is not repeated while the decision stays)."]
    elif decision == "ROLLBACK" and applied:
        severity, title = "warning", f"A/B {experiment_id}: rolled back, every session is on control again"
        todo = ["Nothing urgent: the treatment gets no traffic any more and the experiment's routes are as when it started.",
                "Read the reasons on the experiment page before trying the treatment again (a new experiment id)."]
    elif decision == "ROLLBACK":
        severity, title = "warning", f"A/B {experiment_id}: rollback proposed, the treatment is worse"
        todo = [f"Apply it soon: the treatment still gets its share of live traffic. {manual} "
                "(stops the experiment: treatment share 0, routes restored).",
                "Read the reasons on the experiment page (a guardrail breached, or quality worse)."]
    else:
        severity, title = "info", f"A/B {experiment_id}: the treatment is better but costlier, a person decides"
        todo = ["Weigh the quality gain against the cost per request on the experiment page.",
                "To accept the cost: raise the experiment's max_cost_increase_usd in include/config/experiments.yaml; the next "
                "look then proposes PROMOTE_TREATMENT.",
                "To decline: let it reach max_duration_days, or remove the experiment from include/config/experiments.yaml."]
    happened = [f"Decision {decision}" + (" (applied)" if applied else "") + ":", *look.get("reasons", [])]
    if routing and routing.get("changed"):
        happened.append(f"Routing ledger version {routing.get('version')}: "
                        + ", ".join(f"{c['intent']} {c.get('from')} -> {c['to']}" for c in routing.get("changes", [])))
    happened += [f"Not changed: {d}" for d in declined]
    where = [*run.places(), ("Dashboard", run.dashboard("experiments", experiment_id=experiment_id)),
             *([("Proposal", look["proposal"])] if look.get("proposal") else []), ("Routing document", routing_document)]
    return Alert("ab_proposal", severity, title, tuple(happened), tuple(where), tuple(todo))


def ab_decisions(analysed: dict[str, Any] | None) -> dict[str, str]:
    return {e: look.get("decision") for e, look in ((analysed or {}).get("experiments") or {}).items()}


def ab_alerts(run: RunRef, analysed: dict[str, Any] | None, last_alerted: dict[str, str | None], routing_document: str) -> dict[str, Alert]:
    """experiment id -> alert, for the experiments whose decision alerts and differs from the last one seen
    (an hourly look repeats a standing PROMOTE until someone applies it: it is said once)."""
    alerts = {}
    for experiment_id, look in sorted(((analysed or {}).get("experiments") or {}).items()):
        if look.get("decision") == last_alerted.get(experiment_id) and not look.get("applied"):
            continue
        alert = ab_proposal(run, experiment_id, look, routing_document)
        if alert is not None:
            alerts[experiment_id] = alert
    return alerts


# --- canary_rollout ---------------------------------------------------------------------------------------------

def canary_rollback(run: RunRef, plan: dict[str, Any], record: dict[str, Any], restored: dict[str, Any] | None,
                    keys: dict[str, str]) -> Alert:
    """`plan`: the rollout's plan document; `record`: its rollback record ({stage, reasons, rolled_back_at});
    `restored`: the routing ledger's restore (live rollouts), if known; `keys`: record, split, routing document."""
    rollout_id, stage = plan["rollout_id"], int(record.get("stage") or 0)
    stages = (plan.get("policy") or {}).get("stages") or []
    at = f"stage {stage} ({float(stages[stage - 1]['traffic_pct']):g}% canary)" if 0 < stage <= len(stages) else "warm-up, before any live traffic"
    simulated = plan.get("mode") == "simulate"
    failed_task = any(str(r).startswith("a task of the rollout failed") for r in record.get("reasons", []))
    intents = plan.get("intents") or []
    happened = [f"Rollout {rollout_id} of {plan.get('candidate_config_id')} on {', '.join(intents) if intents != ['*'] else 'every intent'} "
                f"was rolled back at {at}, at {record.get('rolled_back_at')}"
                + (" (a replayed scenario: no live traffic moved)." if simulated else "."),
                *[f"Reason: {r}" for r in record.get("reasons", [])],
                "Traffic is back on the baseline: version 0 of the split (no canary) is current."]
    if restored and restored.get("changed"):
        happened.append(f"Routes restored to before the rollout: routing ledger version {restored.get('version')}.")
    where = [*run.places(), ("Dashboard", run.dashboard("rollouts", rollout_id=rollout_id)),
             ("Rollback record", keys["record"]), ("Traffic split", keys["split"]), ("Routing document", keys["routing"])]
    if failed_task:
        todo = ["A task failed: this is not a verdict on the candidate. Read the failed task's log in this run, fix the cause "
                "(endpoint, warehouse, object store), then trigger canary_rollout again with a new rollout_id."]
    else:
        todo = ["Nothing urgent: the canary's traffic is already back on the baseline.",
                "Read the stage's metrics on the Rollouts page: which check failed (quality drop, floor, P95, errors, cost).",
                "Fix the candidate, evaluate it again (model_evaluation with it as `candidate`), then start a new rollout."]
    return Alert("canary_rollback", "info" if simulated else "warning", f"canary rollout {rollout_id} rolled back at {at}",
                 tuple(happened), tuple(where), tuple(todo))


def canary_alerts(run: RunRef, plan: dict[str, Any] | None, record: dict[str, Any] | None, report: dict[str, Any] | None,
                  keys: dict[str, str]) -> list[Alert]:
    """canary_rollout's report: a rollback, or the routing change of a completed live rollout."""
    if not plan:
        return []  # the plan failed: no traffic ever moved
    if record:
        return [canary_rollback(run, plan, record, (report or {}).get("routing"), keys)]
    if report and report.get("result") == "completed" and report.get("routing"):
        change = report["routing"]
        routing = change.get("routing") or {}
        alert = routing_changed(run, change.get("changes") or [], int(routing.get("version") or 0),
                                f"rollout {plan['rollout_id']} completed", keys["routing"], routing.get("entry"))
        return [alert] if alert else []
    return []


# --- model_benchmark --------------------------------------------------------------------------------------------

def benchmark_regression(run: RunRef, comparison: dict[str, Any] | None, baselines: str) -> Alert | None:
    """`comparison`: what mangaeval.bench.suite.compare_and_report returned; an alert only when a figure regressed."""
    from mangaeval.bench.compare import LABELS, change_text, fmt_value

    found = [r for r in (comparison or {}).get("figures", []) if r["status"] == "REGRESSION"]
    if not found:
        return None
    result_id, environment = comparison["result_id"], comparison["environment"]
    configs = sorted({r["config_id"] for r in found})
    happened = [f"The benchmark result {result_id} ({environment}) is worse than its baseline beyond noise on {len(found)} "
                f"figure(s), for {', '.join(configs)}: worse by more than {comparison['threshold']:.0%} with the 95% interval "
                "of the worse-ratio above 1. Nothing in production was changed."]
    for r in found:
        happened.append(f"{LABELS[r['figure']]} of {r['config_id']}: {fmt_value(r['current'], r['unit'])} vs baseline "
                        f"{fmt_value(r['baseline'], r['unit'])} (v{r['baseline_version']}, result {r['baseline_result_id']}): {change_text(r)}")
    where = [*run.places(), ("Report", comparison["report"]), ("Comparison (Markdown)", comparison["markdown"]),
             ("Result", comparison.get("result") or result_id), ("Baselines", baselines)]
    todo = ["Read the report: which configuration and figure, and whether every figure of that configuration moved (the "
            "endpoint or the account's quota) or one alone (the model, the prompt).",
            "Re-run to rule out a bad hour: trigger model_benchmark with {\"configs\": [" + ", ".join(f'\"{c}\"' for c in configs)
            + "]}, or `mangaeval bench compare --configs " + " ".join(configs) + "`.",
            f"If the change is expected (a new model version, a longer prompt) and accepted: `mangaeval bench accept --result-id "
            f"{result_id} --environment {environment} --configs {' '.join(configs)}` makes it the baseline; nothing else does."]
    return Alert("benchmark_regression", "warning", f"benchmark regression: {len(found)} figure(s) of {', '.join(configs)} "
                 f"({environment})", tuple(happened), tuple(where), tuple(todo))


# --- a failed task ------------------------------------------------------------------------------------------------

# What a failed task leaves behind, per DAG and task ("*": any other task of the DAG).
TASK_FAILURE_CONSEQUENCES = {
    "model_evaluation": {
        "publish_report": "The routing table was published; only this run's HTML report is missing.",
        "stop_model_double": "The run's work is done; the model double it started may still run (it stops itself when idle).",
        "*": "Nothing of this run is loaded or published: the routing table is not touched, production routing is unchanged.",
    },
    "model_benchmark": {
        "load_warehouse": "The result is stored and compared; the warehouse's trend (the Benchmarks page) misses it.",
        "*": "No verdict from this run: nothing was compared, the baselines are unchanged.",
    },
}


def task_failed(run: RunRef, error: str, attempts: int | None) -> Alert:
    consequences = TASK_FAILURE_CONSEQUENCES.get(run.dag_id, {})
    consequence = consequences.get(run.task_id) or consequences.get("*") or "See the run's grid for what did not run."
    tried = f" after {attempts} attempts" if attempts and attempts > 1 else ""
    happened = [f"Task {run.task_id} of {run.dag_id} run {run.run_id} failed{tried}: {error}", consequence,
                "Other tasks of this run that fail are not alerted again: the run's grid shows them."]
    todo = ["Read the task log: the last lines say what failed (throttling -> the quotas and pools; timeouts or 5xx -> the "
            "endpoint; access denied -> the AWS connection; a bad parameter or file -> fix it).",
            "Once fixed, clear the failed task and what follows it in this run"
            + (" (answers already paid for come from the run's cache)" if run.dag_id == "model_evaluation" else "")
            + ", or trigger the DAG again."]
    return Alert("task_failed", "warning", f"{run.dag_id}: task {run.task_id} failed (run {run.run_id})", tuple(happened),
                 tuple(run.places()), tuple(todo))
