"""The response cache is the run's own: a retried shard reuses what its run paid for, a new run asks again,
reuse across runs is an explicit choice recorded on every row, and a cached latency is never reported as measured."""

from __future__ import annotations

import pytest

from mangaeval.bedrock import BedrockClient, ClientSettings
from mangaeval.engine import EngineSettings, EvaluationEngine
from mangaeval.models import load_configurations, load_model_catalog
from mangaeval.scoring import Scorer
from mangaeval.validation.gate import validate_run
from tests.conftest import double_stats, running_double

pytestmark = pytest.mark.integration
NO_FAULTS = {"throttle_rate": 0, "timeout_rate": 0, "unavailable_rate": 0, "model_error_rate": 0}


def run(url, tmp_path, cases, run_id, **settings):
    engine = EvaluationEngine(BedrockClient(ClientSettings(endpoint_url=url)), load_model_catalog(),
                              EngineSettings(cache_dir=tmp_path / "cache", **settings))
    return engine.evaluate([load_configurations()["nova-lite"]], cases, run_id=run_id, dataset_version="v0")


def test_retry_reuses_new_run_asks_again_reuse_is_recorded(starter, tmp_path):
    cases = starter.cases[:12]
    with running_double(**NO_FAULTS) as double:
        night1, _ = run(double.url, tmp_path, cases, "night-1")
        calls = double_stats(double.url)["total_calls"]
        retried, retry_stats = run(double.url, tmp_path, cases, "night-1")  # a retried shard of the same run
        assert double_stats(double.url)["total_calls"] == calls and retry_stats.cache_hits == 12
        assert list(retried["latency_ms"]) == list(night1["latency_ms"]) and retried["reused_from"].isna().all()

        night2, stats2 = run(double.url, tmp_path, cases, "night-2")  # a new night measures again
        assert stats2.cache_hits == 0 and double_stats(double.url)["total_calls"] == calls + 12
        assert night2["reused_from"].isna().all() and (night2["latency_ms"] > 0).all()

        reused, stats3 = run(double.url, tmp_path, cases, "night-3", reuse_across_runs=True)  # explicit reuse
        assert stats3.cache_hits == 12 and double_stats(double.url)["total_calls"] == calls + 12
    assert set(reused["reused_from"]) == {"night-2"} and reused["cache_hit"].all()
    assert reused["latency_ms"].isna().all(), "a latency measured by another run is never reported as tonight's"
    assert list(reused["cost_usd"]) == list(night2["cost_usd"])  # tokens and cost are the answer's own


def test_gate_accepts_reused_rows_without_latency_and_refuses_reused_rows_with_one(starter, tmp_path):
    cases = starter.cases[:6]
    with running_double(**NO_FAULTS) as double:
        run(double.url, tmp_path, cases, "a")
        reused, _ = run(double.url, tmp_path, cases, "b", reuse_across_runs=True)
    scored = Scorer().score_frame(reused, cases)
    intents = sorted(set(scored["intent"]))
    frames = {f"nova-lite/{i}": scored[scored["intent"] == i].reset_index(drop=True) for i in intents}
    assert validate_run(frames, {k: len(v) for k, v in frames.items()}, intents).success
    forged = scored.copy()
    forged.loc[0, "latency_ms"] = 123
    frames = {f"nova-lite/{i}": forged[forged["intent"] == i].reset_index(drop=True) for i in intents}
    report = validate_run(frames, {k: len(v) for k, v in frames.items()}, intents)
    assert not report.success and any("expect_column_values_to_be_null" in f and "latency_ms" in f for f in report.failures)
