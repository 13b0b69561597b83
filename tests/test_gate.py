"""The Great Expectations gate: a clean run passes; each kind of bad data fails, naming shard and expectation."""

from __future__ import annotations

import pandas as pd
import pytest

from mangaeval.golden import load_dataset
from mangaeval.results import rows_to_frame
from mangaeval.scoring import Scorer
from mangaeval.validation.gate import GateFailed, raise_if_failed, validate_run

INTENTS = ["faq", "chitchat"]


@pytest.fixture(scope="module")
def shards():
    cases = [c for c in load_dataset("v1").cases if c.intent in INTENTS]
    frames = {}
    for intent in INTENTS:
        chosen = [c for c in cases if c.intent == intent][:10]
        rows = [{"run_id": "r1", "config_id": "haiku-3-5", "model_id": "anthropic.claude-3-5-haiku-20241022-v1:0", "intent": intent,
                 "test_id": c.test_id, "language": c.language, "dataset_version": "v1", "prompt_version": "v1",
                 "response_text": c.reference_answer, "input_tokens": 100, "output_tokens": 20, "cost_usd": 0.0002,
                 "latency_ms": 350, "wall_ms": 360.0, "status": "ok", "attempts": 1, "cache_hit": False} for c in chosen]
        rows[-1] = {**rows[-1], "status": "error", "response_text": None, "input_tokens": None, "output_tokens": None,
                    "cost_usd": None, "latency_ms": None, "error_code": "ThrottlingException"}
        frames[f"haiku-3-5/{intent}"] = Scorer().score_frame(rows_to_frame(rows), chosen)
    return frames


def run(frames, expected=10):
    return validate_run(frames, {k: expected for k in frames}, INTENTS)


def test_clean_results_pass(shards):
    report = run(shards)
    assert report.success and report.shards == 2 and report.expectations > 40
    raise_if_failed(report)


def corrupt(shards, name, change):
    frames = dict(shards)
    frames[name] = change(frames[name].copy())
    return frames


@pytest.mark.parametrize("change, expected_failure", [
    (lambda f: f.assign(quality_score=f["quality_score"].where(f.index != 0, 1.5)), "column='quality_score', min_value=0.0, max_value=1.0"),
    (lambda f: f.assign(status=f["status"].where(f.index != 0, "maybe")), "expect_column_values_to_be_in_set: column='status'"),
    (lambda f: f.assign(latency_ms=f["latency_ms"].where(f.index != 0, 0)), "column='latency_ms'"),
    (lambda f: f.assign(input_tokens=f["input_tokens"].where(f.index != 1, -5)), "column='input_tokens'"),
    (lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True), "expect_compound_columns_to_be_unique"),
    (lambda f: f.iloc[:-2], "expect_table_row_count_to_equal"),
    (lambda f: f.drop(columns=["score_relevance"]), "expect_table_columns_to_match_set"),
    (lambda f: f.assign(intent="weather"), "column='intent'"),
    (lambda f: f.assign(status="error", quality_score=None, error_code="X"), "expect_column_mean_to_be_between: column='is_error'"),
])
def test_each_bad_input_fails_naming_the_shard(shards, change, expected_failure):
    report = run(corrupt(shards, "haiku-3-5/faq", change))
    assert not report.success
    assert any(f.startswith("shard haiku-3-5/faq: ") and expected_failure in f for f in report.failures), report.failures
    assert not any(f.startswith("shard haiku-3-5/chitchat") for f in report.failures)
    with pytest.raises(GateFailed, match="nothing was loaded or published"):
        raise_if_failed(report)
