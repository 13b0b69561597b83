"""Runs configurations x golden cases with bounded concurrency and client-side quotas per model."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

from mangaeval.bedrock import BedrockClient, CallResult
from mangaeval.engine.cache import ResponseCache, cache_key
from mangaeval.engine.concurrency import LocalConcurrency
from mangaeval.engine.ratelimit import ModelRateLimiter, Quota, load_quotas
from mangaeval.golden import GoldenCase
from mangaeval.errors import ConfigError
from mangaeval.invoker import ModelInvoker
from mangaeval.models import ModelConfig, ModelSpec, config_problems
from mangaeval.prompts import build_request
from mangaeval.clusters import cluster_id
from mangaeval.results import rows_to_frame
from mangaeval.text import estimate_tokens


@dataclass
class EngineSettings:
    use_cache: bool = True  # the run's own cache: its retries and reruns pay for no call twice
    reuse_across_runs: bool = False  # also take answers measured by other runs (rows record reused_from)
    cache_dir: str | Path | None = None  # a folder or s3://bucket/prefix
    stream: bool = False
    default_quota: Quota = field(default_factory=Quota)
    quotas: dict[str, Quota] = field(default_factory=dict)
    concurrency_override: int | None = None  # one limit for every model (benchmarks, small runs)
    adaptive_concurrency: bool = True  # throttled calls lower a model's calls in flight (AIMD, engine/concurrency.py)
    shared_quota_url: str | None = None  # Redis holding the quotas for every worker (engine/shared_limits.py)

    @classmethod
    def from_files(cls, **kwargs: Any) -> "EngineSettings":
        from mangaeval.engine.shared_limits import shared_quota_url

        default, per_model = load_quotas()
        kwargs.setdefault("shared_quota_url", shared_quota_url())
        return cls(default_quota=default, quotas=per_model, **kwargs)

    def quota_for(self, model_id: str) -> Quota:
        quota = self.quotas.get(model_id, self.default_quota)
        if self.concurrency_override:
            quota = Quota(self.concurrency_override, quota.requests_per_minute, quota.tokens_per_minute)
        return quota


@dataclass
class RunStats:
    calls_made: int = 0
    cache_hits: int = 0
    ok: int = 0
    errors: int = 0
    throttled: int = 0  # attempts refused by the service's quota
    throttle_wait_s: float = 0.0  # waiting for our own quotas and calls-in-flight limit
    elapsed_s: float = 0.0
    error_codes: Counter = field(default_factory=Counter)


class EvaluationEngine:
    def __init__(self, client: BedrockClient, catalog: dict[str, ModelSpec], settings: EngineSettings | None = None,
                 sagemaker: Any | None = None):
        self.client = client
        self.catalog = catalog
        self.invoker = ModelInvoker(client, catalog, sagemaker)
        self.settings = settings or EngineSettings()
        self.cache = ResponseCache(self.settings.cache_dir) if self.settings.use_cache and self.settings.cache_dir else None
        self._limiters: dict[str, Any] = {}
        self._gates: dict[str, Any] = {}
        self._stats_lock = threading.Lock()
        self._redis = None
        if self.settings.shared_quota_url:
            from mangaeval.engine.shared_limits import redis_client

            self._redis = redis_client(self.settings.shared_quota_url)

    def _limiter(self, model_id: str) -> Any:
        """Requests/min and tokens/min for the model: this process's, or every worker's (Redis)."""
        with self._stats_lock:
            if model_id not in self._limiters:
                quota = self.settings.quota_for(model_id)
                if self._redis is not None:
                    from mangaeval.engine.shared_limits import SharedRateLimiter

                    self._limiters[model_id] = SharedRateLimiter(self._redis, model_id, quota)
                else:
                    self._limiters[model_id] = ModelRateLimiter(quota)
            return self._limiters[model_id]

    def _gate(self, model_id: str) -> Any:
        """Calls in flight for the model, adapted to throttling: this process's, or every worker's (Redis)."""
        with self._stats_lock:
            if model_id not in self._gates:
                ceiling, adaptive = self.settings.quota_for(model_id).concurrency, self.settings.adaptive_concurrency
                if self._redis is not None:
                    from mangaeval.engine.shared_limits import SharedConcurrency

                    self._gates[model_id] = SharedConcurrency(self._redis, model_id, ceiling, adaptive)
                else:
                    self._gates[model_id] = LocalConcurrency(ceiling, adaptive=adaptive)
            return self._gates[model_id]

    def _call(self, config: ModelConfig, request: dict[str, Any], stats: RunStats, run_id: str) -> tuple[CallResult, str | None]:
        """(result, where its answer came from): None = called now, else the run whose call it reuses."""
        key = cache_key(config.model_id, request) if self.cache else None
        if key and (entry := self.cache.lookup(key, run_id, any_run=self.settings.reuse_across_runs)):
            with self._stats_lock:
                stats.cache_hits += 1
            measured_by = entry.get("run_id") or "unknown run"
            same_run = measured_by == run_id  # a retry of this run: its latency was measured tonight
            return CallResult(status="ok", text=entry["text"], input_tokens=entry["input_tokens"],
                              output_tokens=entry["output_tokens"], latency_ms=entry["latency_ms"] if same_run else None,
                              stop_reason=entry.get("stop_reason"), wall_ms=0.0, attempts=0), measured_by
        limiter = self._limiter(config.model_id)
        prompt_text = "".join(b.get("text", "") for part in (request["system"], *[m["content"] for m in request["messages"]]) for b in part)
        reserved = estimate_tokens(prompt_text) + config.max_tokens
        gate = self._gate(config.model_id)
        waited, slot = gate.enter()
        try:
            waited += limiter.acquire(reserved)
            result = self.invoker.call(config, request, stream=self.settings.stream)
        except BaseException:
            gate.exit(slot, False)
            raise
        gate.exit(slot, result.throttles > 0)
        used = (result.input_tokens or 0) + (result.output_tokens or 0) if result.status == "ok" else 0
        limiter.settle(reserved, used)
        with self._stats_lock:
            stats.calls_made += result.attempts
            stats.throttled += result.throttles
            stats.throttle_wait_s += waited
        if key and result.status == "ok":
            self.cache.put(key, {"text": result.text, "input_tokens": result.input_tokens, "output_tokens": result.output_tokens,
                                 "latency_ms": result.latency_ms, "stop_reason": result.stop_reason, "run_id": run_id})
        return result, None

    def _row(self, run_id: str, dataset_version: str, config: ModelConfig, case: GoldenCase,
             result: CallResult, answered_by: str | None) -> dict[str, Any]:
        ok = result.status == "ok"
        spec = self.catalog[config.model_id]
        return {
            "run_id": run_id, "config_id": config.id, "model_id": config.model_id, "intent": case.intent,
            "test_id": case.test_id, "language": case.language, "dataset_version": dataset_version,
            "prompt_version": config.system_prompt_version,
            "response_text": result.text if ok else None,
            # A failed call has no tokens and no cost: recorded as missing, never as 0 (which would deflate means).
            "input_tokens": result.input_tokens if ok else None,
            "output_tokens": result.output_tokens if ok else None,
            "cost_usd": spec.cost_usd(result.input_tokens, result.output_tokens) if ok else None,
            "latency_ms": result.latency_ms if ok else None,
            "wall_ms": round(result.wall_ms, 3),
            "status": result.status, "error_code": result.error_code, "attempts": result.attempts,
            "stop_reason": result.stop_reason, "error_message": result.error_message, "cache_hit": answered_by is not None,
            "reused_from": answered_by if answered_by not in (None, run_id) else None,
            "cluster_id": cluster_id(case),
        }

    def evaluate(self, configs: Iterable[ModelConfig], cases: Iterable[GoldenCase], *, run_id: str,
                 dataset_version: str, progress: Callable[[int], None] | None = None) -> tuple[pd.DataFrame, RunStats]:
        configs, cases = list(configs), list(cases)
        problems = [p for c in configs for p in config_problems(c, self.catalog, f"configuration '{c.id}'", stream=self.settings.stream)]
        if problems:  # before any call: a request the service would refuse is never sent
            raise ConfigError(problems)
        stats = RunStats()
        started = time.perf_counter()
        jobs: dict[str, list[tuple[int, ModelConfig, GoldenCase]]] = defaultdict(list)
        for ci, config in enumerate(configs):
            for ki, case in enumerate(cases):
                jobs[config.model_id].append((ci * len(cases) + ki, config, case))
        rows: dict[int, dict[str, Any]] = {}
        pools = {m: ThreadPoolExecutor(max_workers=self.settings.quota_for(m).concurrency, thread_name_prefix=f"eval-{i}")
                 for i, m in enumerate(jobs)}
        try:
            futures: dict[Future, tuple[int, ModelConfig, GoldenCase]] = {}
            for model_id, model_jobs in jobs.items():
                for job in model_jobs:
                    request = build_request(job[1], job[2])
                    futures[pools[model_id].submit(self._call, job[1], request, stats, run_id)] = job
            for future in as_completed(futures):
                index, config, case = futures[future]
                result, hit = future.result()
                rows[index] = self._row(run_id, dataset_version, config, case, result, hit)
                if result.status == "ok":
                    stats.ok += 1
                else:
                    stats.errors += 1
                    stats.error_codes[result.error_code] += 1
                if progress:
                    progress(1)
        finally:
            for pool in pools.values():
                pool.shutdown(wait=True, cancel_futures=True)
        stats.elapsed_s = time.perf_counter() - started
        return rows_to_frame(rows[i] for i in sorted(rows)), stats
