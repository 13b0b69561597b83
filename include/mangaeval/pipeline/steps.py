"""What each task of the `model_evaluation` DAG does, as plain functions (the DAG file only wires them).

Everything passed between steps is small and JSON-serialisable (plans, URIs, counts), never result data.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from mangaeval.paths import DATA_DIR, safe_name

log = logging.getLogger(__name__)


def plan_run(params: dict[str, Any], current_config_ids: list[str] | None = None) -> dict[str, Any]:
    """Validate trigger parameters into a plan (ParamError before any model is called)."""
    from mangaeval.golden import load_dataset, sample_cases
    from mangaeval.pipeline.params import validate_params
    from mangaeval.pipeline.topology import check_topology

    plan = validate_params(params, extra_config_ids=current_config_ids)
    check_topology(configured_endpoint(), plan.use_cache)  # a distributed executor needs shared endpoint, stores, warehouse
    dataset = load_dataset(plan.dataset_version)
    cases = dataset.by_intent()
    doc = plan.to_dict()
    doc["routing_base"] = routing_base()  # the version this run's decisions are based on (its publish is conditional on it)
    doc["expected_rows"] = {i: len(sample_cases(cases.get(i, []), plan.limit, plan.sample_seed)) for i in plan.intents}  # as run_shard samples
    return doc


def configured_endpoint() -> str | None:
    """Bedrock endpoint from MANGAEVAL_BEDROCK_ENDPOINT_URL / AWS_ENDPOINT_URL_BEDROCK_RUNTIME, else (inside a DAG
    task) the AWS connection's (`service_config` {"bedrock-runtime": {"endpoint_url"}}, else its `endpoint_url`
    extra); None = AWS's own endpoint."""
    from mangaeval.aws import service_endpoint
    from mangaeval.connections import active

    for name in ("MANGAEVAL_BEDROCK_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"):
        if os.environ.get(name):
            return os.environ[name]
    return service_endpoint("bedrock-runtime", active().aws_conn_id)


def start_double_if_needed(run_key: str, parent_pid: int | None = None) -> dict[str, Any]:
    """Embedded default: no endpoint configured and MANGAEVAL_USE_DOUBLE not 0 -> start the model double
    (MANGAEVAL_DOUBLE_SEED, _TIME_SCALE and _OVERRIDES="throttle_rate=0.3,..." shape it, for demos and tests).

    The double must not outlive a run killed from outside (its teardown then never runs). The setup task's process
    exits right after starting it, so nothing of the run is there to watch: it stops itself after
    MANGAEVAL_DOUBLE_IDLE_TIMEOUT_S (default 900) seconds without a request, and `parent_pid` (a caller that starts
    and stops it in one process) stops it as soon as that process is gone. Its pidfile (data/double/RUN_KEY.pid)
    lets the teardown, a retry of this run's setup or `mangaeval double stop --run-id RUN_KEY` stop it."""
    endpoint = configured_endpoint()
    if endpoint or os.environ.get("MANGAEVAL_USE_DOUBLE", "1") == "0":
        return {"endpoint_url": endpoint, "sagemaker_endpoint_url": None, "double_pid": None}  # SageMaker: its connection / the AWS chain
    from mangaeval.double.server import pidfile_for, start_detached, stop_by_pidfile
    from mangaeval.errors import MangaEvalError

    pidfile = pidfile_for(run_key, DATA_DIR / "double")
    try:
        stale = stop_by_pidfile(pidfile)  # an earlier attempt of this run's setup (the run killed, then cleared)
        if stale["stopped"]:
            log.warning("stopped the model double pid %s left by an earlier attempt of %s", stale["pid"], run_key)
    except MangaEvalError as exc:  # an unreadable pidfile: nothing to stop
        log.warning("%s; removed", exc)
        pidfile.unlink(missing_ok=True)
    url, pid = start_detached(DATA_DIR / "double" / f"{safe_name(run_key)}.log", seed=int(os.environ.get("MANGAEVAL_DOUBLE_SEED", "0")),
                              time_scale=float(os.environ.get("MANGAEVAL_DOUBLE_TIME_SCALE", "0")),
                              overrides=[p for p in os.environ.get("MANGAEVAL_DOUBLE_OVERRIDES", "").split(",") if p],
                              idle_timeout_s=float(os.environ.get("MANGAEVAL_DOUBLE_IDLE_TIMEOUT_S", "900")) or None,
                              parent_pid=parent_pid, pidfile=pidfile, run_id=run_key)
    log.info("no Bedrock endpoint configured: started the model double at %s (pid %s, pidfile %s)", url, pid, pidfile)
    return {"endpoint_url": url, "sagemaker_endpoint_url": url, "double_pid": pid,  # the double serves both APIs
            "double_pidfile": str(pidfile)}


def stop_double(info: dict[str, Any] | None) -> None:
    if info and info.get("double_pidfile"):
        from mangaeval.double.server import stop_by_pidfile

        stop_by_pidfile(Path(info["double_pidfile"]))
    elif info and info.get("double_pid"):
        from mangaeval.double.server import stop_detached

        stop_detached(int(info["double_pid"]))


def evaluate_chunk(chunk: list[dict[str, Any]], plan_doc: dict[str, Any], run_id: str, endpoint_url: str | None,
                   sagemaker_endpoint_url: str | None = None) -> list[dict[str, Any]]:
    from mangaeval.pipeline.params import RunPlan
    from mangaeval.pipeline.shards import run_shard
    from mangaeval.pipeline.storage import default_cache_uri, default_results_root

    plan = RunPlan.from_dict(plan_doc)
    cache_uri = default_cache_uri()
    results = []
    for shard in chunk:
        result = run_shard(shard, plan, run_id, default_results_root(), endpoint_url, cache_uri, sagemaker_endpoint_url)
        log.info("shard %s/%s: %s rows (%s ok, %s error), %s model calls, %s cache hits -> %s", result["config_id"],
                 result["intent"], result["rows"], result["ok"], result["errors"], result["model_calls"], result["cache_hits"], result["uri"])
        results.append(result)
    return results


def validation_gate(shard_results: list[dict[str, Any]], plan_doc: dict[str, Any]) -> list[str]:
    """GX gate over every shard; raises GateFailed (nothing loaded or published) or returns the shard URIs."""
    from mangaeval.pipeline.storage import read_frame
    from mangaeval.validation.gate import raise_if_failed, validate_run

    expected_shards = {(c["id"], i) for c in plan_doc["configs"] for i in plan_doc["intents"]}
    got = {(r["config_id"], r["intent"]) for r in shard_results}
    missing = sorted(expected_shards - got)
    if missing:
        from mangaeval.validation.gate import GateFailed

        raise GateFailed([f"shard {c}/{i}: no results (the shard did not run)" for c, i in missing])
    frames = {f"{r['config_id']}/{r['intent']}": read_frame(r["uri"]) for r in shard_results}
    expected = {f"{r['config_id']}/{r['intent']}": plan_doc["expected_rows"][r["intent"]] for r in shard_results}
    report = validate_run(frames, expected, list(plan_doc["intents"]))
    log.info("validation gate: %s shards, %s expectations, %s failed", report.shards, report.expectations, len(report.failures))
    raise_if_failed(report)
    return sorted(r["uri"] for r in shard_results)


def routing_base() -> dict[str, Any]:
    from mangaeval.pipeline.publishing import routing_head

    return routing_head().to_dict()


def current_routing_config_ids() -> list[str]:
    """Configurations serving traffic now (from the routing ledger's head) and the all-premium baseline, so a
    run always measures what it may replace and what the projection compares against."""
    from mangaeval.pipeline.publishing import current_routing_document
    from mangaeval.warehouse.policy import load_policy

    document = current_routing_document() or {}
    serving = {route["config_id"] for route in document.get("routes", {}).values()} | {document.get("default", {}).get("config_id")}
    return sorted((serving | {load_policy().baseline_config_id}) - {None})


def load_warehouse(uris: list[str], run_id: str, routing_base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load the validated shards, the paired quality statistics, the policy and the routing the run's decisions
    are based on into the warehouse (one transaction; a rerun replaces the run's rows exactly)."""
    from mangaeval.pipeline.publishing import current_routing_map
    from mangaeval.pipeline.storage import read_frames
    from mangaeval.warehouse import connect
    from mangaeval.warehouse.decide import check_results, run_tables
    from mangaeval.warehouse.policy import load_policy

    frame = check_results(read_frames(uris), f"run {run_id}")
    warehouse = connect()
    try:
        warehouse.require_schema()  # created by the migration step (the init job), not here
        counts = warehouse.load_run(run_id, run_tables(frame, run_id, load_policy(), current_routing_map(routing_base)), shard_uris=uris)
    finally:
        warehouse.close()
    log.info("warehouse: loaded run %s: %s", run_id, counts)
    return counts


def decide(run_id: str, plan_doc: dict[str, Any]) -> dict[str, Any]:
    """Run the decision SQL on the warehouse for this run."""
    from mangaeval.warehouse import connect
    from mangaeval.warehouse.decide import decisions_document

    warehouse = connect()
    try:
        decision = decisions_document(warehouse, run_id)
    finally:
        warehouse.close()
    from mangaeval.warehouse.live_calibration import summary_line

    log.info("%s", summary_line(decision["projection"]["calibrated"]))
    decision["dataset_version"] = plan_doc["dataset_version"]
    decision["candidate_configs"] = [c for c in plan_doc["configs"] if c["id"] == plan_doc.get("candidate_id")]
    decision["intents"] = list(plan_doc["intents"])
    return decision


def publish_routing(decision: dict[str, Any], run_id: str, logical_date: Any, plan_doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """Propose the run's decisions to the routing ledger, on the version the run read (a lost race re-decides on
    top of the winner's state), and return what changed, what was declined and the projection of the result."""
    from mangaeval.pipeline.publishing import commit_nightly

    result = commit_nightly(decision, run_id, logical_date, (plan_doc or {}).get("routing_base"))
    log.info("routing ledger: %s", {k: result[k] for k in ("version", "changed", "routes_changed", "declined")})
    return result


def publish_report(run_id: str) -> str:
    """The run's self-contained HTML report (Evaluation and Routing), written beside the routing document:
    reports/run_id=<run>/index.html in the object store. Returns its URI."""
    from mangaeval.dashboards.report import publish_report as write

    uri = write(run_id)
    log.info("report: %s", uri)
    return uri
