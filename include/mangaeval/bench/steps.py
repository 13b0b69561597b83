"""The steps of the weekly `model_benchmark` DAG (dags/model_benchmark.py): plan, run the suite, load the
warehouse, judge against the baselines (the alert is the compare task's callback), and the gate.

The suite runs inside one task, which starts its own model double when no endpoint is configured: its
latency phases must not be split across workers (a figure measured half on one host and half on another is
no figure), and a double in the same task is reachable wherever that task runs. Only the result crosses tasks,
through the object store, so under a distributed executor that store (and the warehouse) must be shared."""

from __future__ import annotations

import logging
import os
from typing import Any

from mangaeval.errors import ConfigError, MangaEvalError

log = logging.getLogger(__name__)

_COUNTS = (("requests", 1), ("warmup", 0), ("latency_concurrency", 1), ("workers", 1), ("throughput_requests", 1))


class BenchmarkRegression(MangaEvalError):
    """The weekly run found figures worse than their baselines (the alert has gone out; the report is stored)."""


def plan_benchmark(params: dict[str, Any]) -> dict[str, Any]:
    """The run's parameters, checked all at once before any model is called (ConfigError names every problem)."""
    from mangaeval.bench.baselines import check_label
    from mangaeval.bench.runner import DEFAULT_REQUESTS
    from mangaeval.bench.rule import DEFAULT_MARGIN, DEFAULT_THRESHOLD
    from mangaeval.bench.suite import DEFAULT_CONFIGS, resolve_configs
    from mangaeval.golden import DEFAULT_VERSION, load_dataset

    problems: list[str] = []
    defaults = {"requests": DEFAULT_REQUESTS, "warmup": 10, "latency_concurrency": 4, "workers": 10, "throughput_requests": 100}
    counts = {}
    for name, least in _COUNTS:
        value = params.get(name, defaults[name])
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            problems.append(f"parameter {name}: {value!r} is not a whole number >= {least}")
        counts[name] = value
    numbers = {}
    for name, default in (("threshold", DEFAULT_THRESHOLD), ("margin", DEFAULT_MARGIN), ("double_time_scale", 1.0)):
        value = params.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (name == "threshold" and value == 0):
            problems.append(f"parameter {name}: {value!r} is not a number {'> 0' if name == 'threshold' else '>= 0'}")
        numbers[name] = value
    config_ids = list(params.get("configs") or DEFAULT_CONFIGS)
    stream = bool(params.get("stream", False))
    try:
        resolve_configs(config_ids, stream=stream)
    except MangaEvalError as exc:
        problems += [f"parameter configs: {p}" for p in getattr(exc, "problems", [str(exc)])]
    dataset = params.get("dataset_version") or DEFAULT_VERSION
    try:
        load_dataset(dataset)
    except MangaEvalError as exc:
        problems += [f"parameter dataset_version: {p}" for p in getattr(exc, "problems", [str(exc)])[:5]]
    environment = params.get("environment") or None
    if environment is not None:
        try:
            check_label(environment, "parameter environment")
        except MangaEvalError as exc:
            problems.append(str(exc))
    problems += topology_problems()
    if problems:
        raise ConfigError(problems)
    return {"configs": config_ids, **counts, "stream": stream, "dataset": dataset, "sample_seed": int(params.get("sample_seed") or 0),
            "environment": environment, **numbers, "fail_on_regression": bool(params.get("fail_on_regression", True))}


def topology_problems() -> list[str]:
    """Under a distributed executor the result crosses tasks through the object store and the warehouse: both must be
    shared. (The double, when used, lives inside the benchmark task: no problem there.)"""
    from mangaeval.paths import DATA_DIR
    from mangaeval.pipeline.topology import configured_executors, topology_problems as problems_of, warehouse_kind

    return problems_of(executors=configured_executors(), endpoint_url=None, use_double=False, results_uri=None,
                       routing_uri=os.environ.get("MANGAEVAL_ROUTING_URI") or str(DATA_DIR), cache_uri=None, warehouse=warehouse_kind())


def _settings(plan: dict[str, Any]) -> Any:
    from mangaeval.bench.runner import SuiteSettings

    return SuiteSettings(requests=plan["requests"], warmup=plan["warmup"], latency_concurrency=plan["latency_concurrency"],
                         workers=plan["workers"], throughput_requests=plan["throughput_requests"], stream=plan["stream"],
                         dataset=plan["dataset"], sample_seed=plan["sample_seed"])


class _ProgressLog:
    """Progress in the task log: a line at every tenth of the requests (a task log has no progress bar)."""

    def __init__(self, total: int):
        self.total, self.done, self.next_at = total, 0, max(1, total // 10)

    def __call__(self, n: int) -> None:
        self.done += n
        if self.done >= self.next_at or self.done == self.total:
            log.info("benchmarking: %d/%d requests (%.0f%%)", self.done, self.total, 100.0 * self.done / max(1, self.total))
            self.next_at = self.done + max(1, self.total // 10)


def run_benchmarks(plan: dict[str, Any]) -> dict[str, Any]:
    """The suite at the plan's sizes against the configured endpoint, else real AWS (MANGAEVAL_USE_DOUBLE=0), else a
    model double started for this task at the plan's time scale. The result is stored (not loaded: the next task)."""
    from contextlib import ExitStack

    from mangaeval.bench.runner import total_requests
    from mangaeval.bench.suite import environment_label, resolve_configs, run_and_store
    from mangaeval.objectstore import open_store
    from mangaeval.pipeline.steps import configured_endpoint

    catalog, configs = resolve_configs(plan["configs"], stream=plan["stream"])
    settings = _settings(plan)
    endpoint = configured_endpoint()
    use_double = endpoint is None and os.environ.get("MANGAEVAL_USE_DOUBLE", "1") != "0"
    with ExitStack() as stack:
        if use_double:
            from mangaeval.double.server import DoubleProcess

            overrides = [p for p in os.environ.get("MANGAEVAL_DOUBLE_OVERRIDES", "").split(",") if p]
            double = stack.enter_context(DoubleProcess(seed=int(os.environ.get("MANGAEVAL_DOUBLE_SEED", "0")),
                                                       time_scale=float(plan["double_time_scale"]), overrides=overrides))
            endpoints = {"endpoint_url": double.url, "sagemaker_endpoint_url": double.url}
            log.info("no Bedrock endpoint configured: benchmarking the model double at %s (time scale %s)", double.url,
                     plan["double_time_scale"])
        else:
            endpoints = {"endpoint_url": endpoint, "sagemaker_endpoint_url": None}
        environment = environment_label(plan["environment"], started_double=use_double, aws=endpoint is None, endpoint_url=endpoint)
        result = run_and_store(catalog, configs, settings, endpoints, open_store(), environment=environment,
                               progress=_ProgressLog(total_requests(settings, len(configs))), load_warehouse=False)
    from mangaeval.bench.cli import format_result

    log.info("benchmark result %s (%s), %.0f s:\n%s", result["result_id"], environment, result["elapsed_s"], format_result(result))
    failed = [cid for cid, c in result["configs"].items() if not c["latency"]["stats"].get("n")]
    if failed:
        errors = "; ".join(f"{c}: {result['configs'][c]['latency']['errors']}" for c in failed)
        raise MangaEvalError(f"benchmark {result['result_id']}: every measured call of {', '.join(failed)} failed ({errors}); "
                             f"stored as {result['stored_as']}, not compared")
    return {"result_id": result["result_id"], "environment": environment, "stored_as": result["stored_as"],
            "elapsed_s": round(result["elapsed_s"], 1)}


def load_warehouse(result_id: str, warehouse_uri: str | None = None) -> int:
    from mangaeval.bench.baselines import load_result
    from mangaeval.bench.warehouse import load
    from mangaeval.objectstore import open_store

    rows = load(load_result(open_store(), result_id), warehouse_uri)
    log.info("benchmark result %s: %d rows in benchmark_results", result_id, rows)
    return rows


def compare_to_baselines(result_id: str, plan: dict[str, Any]) -> dict[str, Any]:
    from mangaeval.bench.baselines import load_result
    from mangaeval.bench.compare import format_table
    from mangaeval.bench.suite import compare_and_report
    from mangaeval.objectstore import open_store

    store = open_store()
    comparison = compare_and_report(store, load_result(store, result_id), threshold=plan["threshold"], margin=plan["margin"])
    log.info("against the baselines (%s):\n%s\nreport: %s", ", ".join(f"{n} {s}" for s, n in comparison["counts"].items() if n),
             format_table(comparison["figures"]), comparison["report"])
    for line in comparison["annotations"]:
        log.info("%s", line)
    return comparison


def regression_gate(comparison: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    """Fails the run on a regression when the plan says so (the default): the weekly grid then shows it."""
    from mangaeval.bench.suite import regressions

    found = regressions(comparison)
    if found and plan["fail_on_regression"]:
        raise BenchmarkRegression(
            f"benchmark {comparison['result_id']} ({comparison['environment']}): {len(found)} regression(s): "
            + "; ".join(f"{r['config_id']} {r['figure']} {r['current']:.4g} vs baseline {r['baseline']:.4g}" for r in found)
            + f"; report {comparison['report']}")
    return {"regressions": len(found), "counts": comparison["counts"]}
