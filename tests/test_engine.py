"""The evaluation engine: one row per (configuration, case), errors as errors, the response cache."""

from __future__ import annotations

import math

import pytest

from mangaeval.bedrock import BedrockClient, ClientSettings
from mangaeval.engine import EngineSettings, EvaluationEngine
from mangaeval.models import load_configurations, load_model_catalog
from mangaeval.results import RESULT_COLUMNS, read_results, write_results
from mangaeval.summary import summarize
from tests.conftest import double_stats, running_double

pytestmark = pytest.mark.integration
NO_ERRORS = {"throttle_rate": 0, "timeout_rate": 0, "unavailable_rate": 0, "model_error_rate": 0}


def engine_for(url, tmp_path=None, use_cache=False, **client_settings):
    client = BedrockClient(ClientSettings(endpoint_url=url, **client_settings), sleep=lambda s: None, seed=5)
    settings = EngineSettings.from_files(use_cache=use_cache, cache_dir=tmp_path / "cache" if tmp_path else None)
    return EvaluationEngine(client, load_model_catalog(), settings)


def configs(*ids):
    all_configs = load_configurations()
    return [all_configs[i] for i in ids]


def test_one_row_per_config_and_case_with_prices(double, starter, tmp_path):
    cases = starter.cases[:40]
    frame, stats = engine_for(double.url).evaluate(configs("sonnet-3-5-v2", "haiku-3-5"), cases, run_id="r1", dataset_version="v0")
    assert list(frame.columns) == RESULT_COLUMNS
    assert len(frame) == 80 and stats.ok == 80
    assert frame[["config_id", "test_id"]].drop_duplicates().shape[0] == 80
    assert list(frame["test_id"][:40]) == [c.test_id for c in cases]  # stable order
    catalog = load_model_catalog()
    for row in frame.head(5).itertuples():
        assert row.cost_usd == pytest.approx(catalog[row.model_id].cost_usd(row.input_tokens, row.output_tokens))
    assert set(frame["dataset_version"]) == {"v0"} and set(frame["run_id"]) == {"r1"}
    write_results(frame, tmp_path / "r1" / "results.parquet")
    assert read_results(tmp_path).equals(frame)


def test_error_rows_are_counted_not_scored(starter):
    with running_double(**{**NO_ERRORS, "timeout_rate": 0.5}) as double:
        frame, stats = engine_for(double.url, model_error_attempts=1).evaluate(
            configs("haiku-3-5"), starter.cases[:60], run_id="r", dataset_version="v0")
    errors = frame[frame["status"] == "error"]
    assert stats.errors == len(errors) > 10 and stats.ok + stats.errors == 60
    assert errors["error_code"].eq("ModelTimeoutException").all()
    # No tokens, no cost, no latency, no text: missing, never 0 / "[ERROR]".
    for column in ("input_tokens", "output_tokens", "cost_usd", "latency_ms", "response_text"):
        assert errors[column].isna().all(), column
    summary = {(r["config_id"], r["intent"]): r for r in summarize(frame)}
    overall = summary[("haiku-3-5", "ALL")]
    ok = frame[frame["status"] == "ok"]
    assert overall["errors"] == len(errors) and overall["error_rate"] == pytest.approx(len(errors) / 60)
    assert overall["mean_cost_usd"] == pytest.approx(float(ok["cost_usd"].astype(float).mean()))


def test_cache_hit_and_miss(starter, tmp_path):
    cases = starter.cases[:30]
    with running_double(**NO_ERRORS) as double:
        first, stats1 = engine_for(double.url, tmp_path, use_cache=True).evaluate(configs("nova-lite"), cases, run_id="a", dataset_version="v0")
        calls_after_first = double_stats(double.url)["total_calls"]
        # a retry or rerun of the same run pays for nothing twice, and its latencies are the ones measured tonight
        second, stats2 = engine_for(double.url, tmp_path, use_cache=True).evaluate(configs("nova-lite"), cases, run_id="a", dataset_version="v0")
        assert double_stats(double.url)["total_calls"] == calls_after_first, "a cached rerun makes 0 model calls"
        assert stats2.calls_made == 0 and stats2.cache_hits == 30 and second["cache_hit"].all()
        assert second["reused_from"].isna().all()
        assert list(second["response_text"]) == list(first["response_text"])
        assert list(second["cost_usd"]) == list(first["cost_usd"])
        assert list(second["latency_ms"]) == list(first["latency_ms"])
        # a parameter change is a different request: a miss
        changed = configs("nova-lite")[0].__class__(**{**configs("nova-lite")[0].to_dict(), "temperature": 0.7})
        _, stats3 = engine_for(double.url, tmp_path, use_cache=True).evaluate([changed], cases[:5], run_id="c", dataset_version="v0")
        assert stats3.cache_hits == 0 and stats3.calls_made == 5
        # --no-cache calls again
        _, stats4 = engine_for(double.url, tmp_path, use_cache=False).evaluate(configs("nova-lite"), cases[:5], run_id="d", dataset_version="v0")
        assert stats4.calls_made == 5


def test_failed_calls_are_not_cached(starter, tmp_path):
    with running_double(**{**NO_ERRORS, "throttle_rate": 1.0}) as double:
        _, stats = engine_for(double.url, tmp_path, use_cache=True, max_attempts=1).evaluate(configs("nova-lite"), starter.cases[:3], run_id="a", dataset_version="v0")
    assert stats.errors == 3
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_heavy_throttling_every_case_accounted_for(starter):
    with running_double(**{**NO_ERRORS, "throttle_rate": 0.3}) as double:
        frame, stats = engine_for(double.url, max_attempts=4).evaluate(configs("sonnet-3-5-v2", "nova-micro"), starter.cases, run_id="t", dataset_version="v0")
    assert stats.ok + stats.errors == len(frame) == 2 * len(starter.cases)
    assert (frame["attempts"] > 1).any()
    assert set(frame.loc[frame.status == "error", "error_code"]) <= {"ThrottlingException"}


def test_stream_mode_matches(double, starter):
    client = BedrockClient(ClientSettings(endpoint_url=double.url), sleep=lambda s: None)
    stream_engine = EvaluationEngine(client, load_model_catalog(), EngineSettings(use_cache=False, stream=True))
    frame, _ = stream_engine.evaluate(configs("haiku-3-5"), starter.cases[:10], run_id="s", dataset_version="v0")
    plain, _ = engine_for(double.url).evaluate(configs("haiku-3-5"), starter.cases[:10], run_id="s", dataset_version="v0")
    assert list(frame["response_text"]) == list(plain["response_text"])
    assert not math.isnan(frame["cost_usd"].astype(float).sum())
