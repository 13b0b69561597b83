"""The canary_rollout DAG's steps (the DAG only wires them): plan, start, warm-up, one stage, rollback on
failure, report. Every step rebuilds what it needs from the plan, so a retried task redoes exactly its part."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from mangaeval.canary import rollout, split
from mangaeval.canary.policy import load_policy
from mangaeval.canary.rollout import Clock, RolloutPlan, StageOutcome, StageState, Wait, run_stage
from mangaeval.canary.simulator import SCENARIOS, SimulatedTraffic
from mangaeval.errors import MangaEvalError

log = logging.getLogger(__name__)
MODES = ("live", "simulate")


def _naive_utc(moment: Any) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def default_rollout_id(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:+-]", "-", run_id)[:128].lstrip("-_.:+") or "rollout"


def plan_rollout(params: dict[str, Any], run_id: str, origin: Any) -> dict[str, Any]:
    """Trigger parameters -> a plan; every problem listed before any traffic moves."""
    from mangaeval.intents import intent_names
    from mangaeval.models import load_configurations, load_model_catalog, available_prompt_versions, validate_config_entry

    problems: list[str] = []
    mode = params.get("mode") or "live"
    if mode not in MODES:
        problems.append(f"'mode' must be one of {list(MODES)}, got {mode!r}")
    scenario = params.get("scenario")
    if mode == "simulate" and scenario not in SCENARIOS:
        problems.append(f"'scenario' must be one of {sorted(SCENARIOS)} in simulate mode, got {scenario!r}")
    candidate = params.get("candidate")
    candidate_id = None
    if isinstance(candidate, dict):
        config, entry_problems = validate_config_entry(candidate, "'candidate'", load_model_catalog(), available_prompt_versions())
        problems += entry_problems
        candidate_id = config.id if config else None
    elif isinstance(candidate, str) and candidate:
        configs = load_configurations()
        if candidate not in configs:
            problems.append(f"'candidate': unknown configuration id {candidate!r} (known: {', '.join(configs)})")
        candidate_id = candidate
    elif mode == "simulate" and scenario in SCENARIOS:
        candidate_id = SCENARIOS[scenario].candidate.config_id
    else:
        problems.append("'candidate' is required: a configuration id or {id, model_id, temperature, top_p, max_tokens, system_prompt_version}")
    intents = params.get("intents") or []
    if not intents and mode == "simulate" and scenario in SCENARIOS:
        intents = list(SCENARIOS[scenario].intents)  # a replayed scenario runs on its own intents unless told otherwise
    unknown = [i for i in intents if i not in intent_names()]
    if unknown:
        problems.append(f"'intents': unknown intent(s) {unknown} (known: {', '.join(intent_names())})")
    time_scale = params.get("time_scale", 1.0)
    if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)) or not 0 <= time_scale <= 1:
        problems.append(f"'time_scale' must be a number in [0, 1] (1 = real windows, 0 = no waiting), got {time_scale!r}")
    warmup = params.get("warmup_requests")
    if warmup is not None and (isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0):
        problems.append(f"'warmup_requests' must be a whole number >= 0, got {warmup!r}")
    rollout_id = params.get("rollout_id") or default_rollout_id(run_id)
    try:
        split.checked_rollout_id(rollout_id)
    except MangaEvalError as exc:
        problems.append(str(exc))
    policy = load_policy()
    if problems:
        raise MangaEvalError("canary_rollout parameters:\n" + "\n".join(f"- {p}" for p in problems))
    if warmup is None:
        warmup = SCENARIOS[scenario].warmup_requests if mode == "simulate" and SCENARIOS[scenario].warmup_requests is not None \
            else policy.warmup_requests
    plan = RolloutPlan(rollout_id, candidate_id, sorted(intents) or ["*"], policy, _naive_utc(origin), mode=mode,
                       scenario=scenario if mode == "simulate" else None, seed=int(params.get("seed") or 0),
                       time_scale=float(time_scale), warmup_requests=int(warmup))
    doc = plan.to_dict()
    doc["candidate"] = candidate if isinstance(candidate, dict) else None
    doc["cloudwatch"] = bool(params.get("cloudwatch", True))
    doc["schedule"] = _schedule(plan)
    return doc


def _schedule(plan: RolloutPlan) -> dict[str, Any]:
    """How long each stage will take at the configured volume, said (logged, and kept in the plan) before any traffic moves."""
    from mangaeval.canary.schedule import schedule_lines, stage_schedule

    per_day = SCENARIOS[plan.scenario].messages_per_day if plan.mode == "simulate" else None
    schedule = stage_schedule(plan.policy, plan.intents, per_day)
    (log.info if schedule["feasible"] else log.warning)("rollout %s:\n%s", plan.rollout_id, "\n".join(schedule_lines(schedule)))
    return schedule


PLAN_EXTRAS = ("candidate", "cloudwatch", "schedule")  # in the plan document, not in RolloutPlan


def _plan(doc: dict[str, Any]) -> RolloutPlan:
    return RolloutPlan.from_dict({k: v for k, v in doc.items() if k not in PLAN_EXTRAS})


def _scenario(plan: RolloutPlan):
    """The replayed scenario on the plan's intents (its traffic is what those intents really receive)."""
    from dataclasses import replace

    return replace(SCENARIOS[plan.scenario], intents=() if plan.intents == ["*"] else tuple(plan.intents))


def _store():
    from mangaeval.objectstore import open_store

    return open_store()  # MANGAEVAL_ROUTING_URI: next to the routing table the bot already reads


def _warehouse():
    from mangaeval.warehouse import connect

    warehouse = connect()
    warehouse.require_schema()
    return warehouse


def start_rollout(doc: dict[str, Any]) -> dict[str, Any]:
    """Refuse intents another experiment or rollout is moving; record the routing the rollout starts from;
    make version 0 of the split (no canary traffic) current."""
    from mangaeval.canary import production

    plan = _plan(doc)
    store = _store()
    production.refuse_overlap(store, plan.rollout_id, plan.intents, plan.origin.isoformat())
    base = production.record_base(store, plan.rollout_id)
    result = split.start(store, plan.rollout_id, plan.candidate_config_id, plan.intents)
    log.info("rollout %s: split version 0 (no canary traffic) is current: %s; routing ledger version %d before it",
             plan.rollout_id, result, base)
    return {**result, "routing_base_version": base}


def warm_up(doc: dict[str, Any]) -> dict[str, Any]:
    """Synthetic requests to the candidate, recorded, never judged. If they fail (an error rate above the policy's
    ceiling, or none answered) this raises WarmUpFailed before any stage publishes a split: version 0 stays
    current and the DAG's rollback_on_failure records why."""
    from mangaeval.canary import warmup
    from mangaeval.canary.records import store_events, warmup_experiment_id

    plan = _plan(doc)
    experiment_id = warmup_experiment_id(plan.rollout_id)
    if plan.mode == "simulate":
        traffic = SimulatedTraffic(_scenario(plan), plan.seed)
        events = traffic.warm_up(plan.warmup_requests, plan.origin).to_events(experiment_id, f"{plan.rollout_id}-warmup")
        served = traffic.candidate_served
    else:
        events, served = _live_warm_up(doc, plan, experiment_id), 0
    warehouse = _warehouse()
    try:
        store_events(warehouse, f"canary/{plan.rollout_id}/warmup", events)  # kept either way: they say why it failed
    finally:
        warehouse.close()
    failure = warmup.warm_up_failure(events, plan.policy.error_ceiling, plan.candidate_config_id)
    if failure:
        log.error("rollout %s: %s", plan.rollout_id, failure)
        raise warmup.WarmUpFailed(failure)
    result = {**warmup.summary(events), "candidate_served": served}
    log.info("warm-up of %s: %s (recorded, not judged)", plan.candidate_config_id, result)
    return result


def _live_warm_up(doc: dict[str, Any], plan: RolloutPlan, experiment_id: str):
    from mangaeval.canary.warmup import live_warm_up
    from mangaeval.models import ModelConfig, load_configurations
    from mangaeval.pipeline import steps as pipeline_steps

    config = ModelConfig(**doc["candidate"]) if doc.get("candidate") else load_configurations()[plan.candidate_config_id]
    # no endpoint configured: the local double, started and stopped in this task's process (it stops itself if we are killed)
    double = pipeline_steps.start_double_if_needed(f"canary-{plan.rollout_id}", parent_pid=os.getpid())
    try:
        return live_warm_up(config, plan.intents, plan.warmup_requests, experiment_id, datetime.now(timezone.utc).replace(tzinfo=None),
                            endpoint_url=double["endpoint_url"], sagemaker_endpoint_url=double.get("sagemaker_endpoint_url"))
    finally:
        pipeline_steps.stop_double(double)


class _StageRun:
    """What one stage needs in a task's process: its plan, the stage before it, the warehouse-backed feed (simulated
    traffic rebuilt from the simulator's state, so a resumed stage draws exactly what it would have drawn), the store,
    the sinks. Closed with the warehouse."""

    def __init__(self, doc: dict[str, Any], warm: dict[str, Any], previous: dict[str, Any] | None, candidate_served: int | None = None):
        from mangaeval.canary.cloudwatch import cloudwatch_sink
        from mangaeval.canary.records import WarehouseFeed, warehouse_sink

        self.plan = _plan(doc)
        self.before = StageOutcome.from_dict(previous) if previous else None
        self.store = _store()
        self.warehouse = _warehouse()
        self.traffic = None
        if self.plan.mode == "simulate":
            served = candidate_served if candidate_served is not None else \
                (self.before.candidate_served if self.before else warm.get("candidate_served", 0))
            self.traffic = SimulatedTraffic(_scenario(self.plan), self.plan.seed, candidate_served=served)
        self.feed = WarehouseFeed(self.warehouse, self.plan.rollout_id, self.traffic)
        self.sinks = [warehouse_sink(self.warehouse)]
        if doc.get("cloudwatch", True):
            self.sinks.append(cloudwatch_sink(self.plan.policy.cloudwatch_namespace))

    def clock(self, at: datetime | None = None) -> Clock:
        """The simulated clock (at `at`, else where the previous stage ended, else the plan's origin) or the wall clock."""
        if self.plan.mode != "simulate":
            return Clock(None, self.plan.time_scale)
        return Clock(at or (self.before.window_end if self.before else self.plan.origin), self.plan.time_scale)

    def served(self) -> int:
        return self.traffic.candidate_served if self.traffic else 0

    def close(self) -> None:
        self.warehouse.close()


def _skipped(doc: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    return previous is not None and StageOutcome.from_dict(previous).action != "promote"


def _outcome_doc(outcome: StageOutcome) -> dict[str, Any]:
    log.info("stage %d (%g%%): %s -> %s: %s", outcome.stage, outcome.traffic_pct, outcome.verdict, outcome.action,
             "; ".join(outcome.reasons))
    return outcome.to_dict()


def stage(doc: dict[str, Any], index: int, warm: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """Run stage `index` straight through in this process, sleeping through its waits; None when an earlier stage
    did not promote (the DAG skips the task). The DAG's operator runs the same stage with open_stage/advance_stage."""
    if _skipped(doc, previous):
        return None
    run = _StageRun(doc, warm, previous)
    try:
        outcome = run_stage(run.plan, index, run.store, run.feed, run.clock(), run.sinks, run.before, candidate_served=run.served)
    finally:
        run.close()
    return _outcome_doc(outcome)


def open_stage(doc: dict[str, Any], index: int, warm: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """Publish stage `index`'s split and open its window: the stage's state (JSON), or None when an earlier stage
    did not promote. Go on with advance_stage."""
    if _skipped(doc, previous):
        return None
    run = _StageRun(doc, warm, previous)
    try:
        state = rollout.open_stage(run.plan, index, run.store, run.feed, run.clock(), candidate_served=run.served)
    finally:
        run.close()
    return state.to_dict()


def advance_stage(doc: dict[str, Any], warm: dict[str, Any], previous: dict[str, Any] | None, state_doc: dict[str, Any]) -> dict[str, Any]:
    """Go on with a stage from its state until it must wait or is decided: {"outcome": ...} once decided, else
    {"wait": {...}, "state": ...} to resume from once the wait is over. A wait that takes no wall time (simulated
    windows at time_scale 0, a moment already past) is not returned: the stage goes straight on.

    The wait says when: `until` on the stage's clock, `wall_seconds` from now, `at` on the wall clock (UTC), and
    why (`reason`: the window's end, or the next look for complete events)."""
    state = StageState.from_dict(state_doc)
    run = _StageRun(doc, warm, previous, candidate_served=state.candidate_served)
    try:
        clock = run.clock(state.clock)
        while True:
            step = rollout.advance_stage(run.plan, state, run.store, run.feed, clock, run.sinks, run.before, candidate_served=run.served)
            if not isinstance(step, Wait):
                return {"outcome": _outcome_doc(step)}
            seconds = clock.wall_seconds_until(step.until)
            if seconds <= 0:
                clock.skip_to(step.until)
                continue
            if clock.simulated:
                state.clock = step.until  # where the simulated clock is once the wait is over
                at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
            else:
                at = step.until.replace(tzinfo=timezone.utc)  # the live clock is the wall clock (naive UTC)
            log.info("stage %d: waiting %.1f s for %s (until %s on the stage's clock)", state.stage, seconds,
                     "the window's end" if step.reason == rollout.WINDOW else "complete events", step.until.isoformat(sep=" "))
            return {"wait": {"reason": step.reason, "until": step.until.isoformat(), "wall_seconds": seconds, "at": at.isoformat(),
                             "mode": run.plan.mode}, "state": state.to_dict()}
    finally:
        run.close()


def rollback_on_failure(doc: dict[str, Any]) -> dict[str, Any]:
    """A task failed (nothing could be judged): take the canary's traffic back first, then record why (the
    warehouse may be what failed: recording is best effort, the rollback is not)."""
    from mangaeval.canary.records import store_failure

    plan = _plan(doc)
    store = _store()
    found = split.current(store)
    stage_index = found[0]["stage"] if found and found[0]["rollout_id"] == plan.rollout_id else 0
    reasons = [f"a task of the rollout failed during or after stage {stage_index}: nothing judged, traffic taken back to version 0"]
    result = split.rollback(store, plan.rollout_id, reasons, stage_index)
    log.error("rollout %s: %s", plan.rollout_id, reasons[0])
    try:
        warehouse = _warehouse()
        try:
            decided = set(warehouse.query("canary/rollout_decisions.sql", {"rollout_id": plan.rollout_id})["stage"].astype(int))
            if stage_index in decided and stage_index < len(plan.policy.stages):
                stage_index += 1  # that stage was decided: the next one failed before publishing its split
            if stage_index:
                store_failure(warehouse, plan.rollout_id, stage_index, plan.policy.stage(stage_index).traffic_pct, reasons,
                              datetime.now(timezone.utc).replace(tzinfo=None))
        finally:
            warehouse.close()
    except Exception as exc:  # the split is already safe; say why the record is missing
        log.error("could not record the failure in the warehouse (%s: %s)", type(exc).__name__, exc)
    return {"stage": stage_index, **{k: v for k, v in result.items() if k != "record"}}


def _candidate(doc: dict[str, Any], plan: RolloutPlan):
    from mangaeval.models import ModelConfig, load_configurations

    if doc.get("candidate"):
        return ModelConfig(**doc["candidate"])
    configs = load_configurations()
    if plan.candidate_config_id not in configs:
        raise MangaEvalError(f"rollout {plan.rollout_id}: candidate {plan.candidate_config_id!r} is not in configurations.yaml")
    return configs[plan.candidate_config_id]


def _production_change(doc: dict[str, Any], plan: RolloutPlan, store, completed: bool, record: dict[str, Any] | None,
                       decisions) -> dict[str, Any] | None:
    """Live rollouts only (a simulated one never touches the routing table): completion writes the routing table
    for the candidate's intents; a rollback restores the routes the rollout started from."""
    from mangaeval.canary import production

    if plan.mode != "live":
        return {"changed": False, "note": "simulated rollout: the routing table is not changed"}
    if completed:
        last = decisions.to_dict(orient="records")[-1]
        metrics = warehouse_stage_metrics(plan.rollout_id, int(last["stage"]))
        change = production.complete(store, plan.rollout_id, _candidate(doc, plan), plan.intents, int(last["stage"]),
                                     {"metrics": metrics}, _naive_utc(last["decided_at"]).isoformat())
    elif record:
        change = production.restore(store, plan.rollout_id, plan.intents, record["rolled_back_at"])
    else:
        return None
    log.info("rollout %s: routing ledger %s", plan.rollout_id, change)
    return change


def warehouse_stage_metrics(rollout_id: str, stage: int) -> dict[str, Any]:
    """The stored judgement of a stage (canary_stage_metrics), metric -> {canary_value, baseline_value, status}."""
    warehouse = _warehouse()
    try:
        rows = warehouse.query("canary/stage_metrics.sql", {"rollout_id": rollout_id, "stage": stage}).to_dict(orient="records")
    finally:
        warehouse.close()
    return {r["metric"]: {"status": r["status"], "canary_value": r["canary_value"], "baseline_value": r["baseline_value"]} for r in rows}


def report(doc: dict[str, Any]) -> dict[str, Any]:
    """Every stage decision from the warehouse and the split now current. Fails the run when a task failed."""
    plan = _plan(doc)
    warehouse = _warehouse()
    try:
        decisions = warehouse.query("canary/rollout_decisions.sql", {"rollout_id": plan.rollout_id})
    finally:
        warehouse.close()
    store = _store()
    found = split.current(store)
    record = split.rolled_back(store, plan.rollout_id)
    stages = [{"stage": int(r["stage"]), "traffic_pct": float(r["traffic_pct"]), "verdict": r["verdict"], "action": r["action"],
               "reasons": json.loads(r["reasons"])} for r in decisions.to_dict(orient="records")]
    for s in stages:
        log.info("stage %d (%g%%): %s -> %s  %s", s["stage"], s["traffic_pct"], s["verdict"], s["action"], "; ".join(s["reasons"][:2]))
    completed = bool(stages) and stages[-1]["action"] == "complete"
    production_change = _production_change(doc, plan, store, completed, record, decisions)
    found = split.current(store)
    result = {"rollout_id": plan.rollout_id, "result": "completed" if completed else ("rolled back" if record else "incomplete"),
              "stages": stages, "current_split": found[0] if found else None, "routing": production_change}
    log.info("rollout %s: %s; current split %s", plan.rollout_id, result["result"],
             f"v{found[0]['version']} ({found[0]['canary_pct']:g}% canary)" if found else "none")
    if any(s["verdict"] == "ERROR" for s in stages) or (record and not stages):
        raise MangaEvalError(f"rollout {plan.rollout_id}: a task failed; traffic was taken back ({record and record['reasons']})")
    return result

