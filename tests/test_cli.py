"""`mangaeval evaluate` end to end: starts the double itself, writes Parquet, prints the summary."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mangaeval.results import read_results

pytestmark = pytest.mark.integration


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mangaeval.cli", *args], capture_output=True, text=True, timeout=300)


def test_evaluate_two_configs_on_the_starter_set(tmp_path):
    proc = run_cli("evaluate", "--configs", "sonnet-3-5-v2,haiku-3-5", "--dataset", "v0", "--out", str(tmp_path / "out"),
                   "--cache-dir", str(tmp_path / "cache"), "--run-id", "cli-test", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    frame = read_results(tmp_path / "out" / "cli-test" / "results.parquet")
    assert len(frame) == doc["rows"] == 2 * 240 == doc["ok"] + doc["errors"]
    overall = {r["config_id"]: r for r in doc["summary"] if r["intent"] == "ALL"}
    assert overall["haiku-3-5"]["latency_p50_ms"] < overall["sonnet-3-5-v2"]["latency_p50_ms"]
    assert overall["haiku-3-5"]["mean_cost_usd"] < 0.5 * overall["sonnet-3-5-v2"]["mean_cost_usd"]
    per_intent = [r for r in doc["summary"] if r["intent"] != "ALL"]
    assert len(per_intent) == 16 and all(r["latency_p99_ms"] >= r["latency_p95_ms"] >= r["latency_p50_ms"] for r in per_intent)
    # scores: one set per ok row, none on error rows; summary has quality and pass rate with 95% bootstrap CIs
    ok = frame["status"] == "ok"
    assert frame.loc[ok, "quality_score"].notna().all() and frame.loc[~ok, "quality_score"].isna().all()
    assert frame.loc[ok, "quality_score"].between(0, 1).all() and set(frame["dataset_version"]) == {"v0"}
    for row in per_intent:
        low, high = row["mean_quality_ci95"]
        assert low <= row["mean_quality"] <= high and row["pass_rate_ci95"][0] <= row["pass_rate"] <= row["pass_rate_ci95"][1]

    text = run_cli("evaluate", "--configs", "sonnet-3-5-v2", "haiku-3-5", "--dataset", "v0", "--out", str(tmp_path / "rerun"),
                   "--cache-dir", str(tmp_path / "cache"), "--run-id", "cli-test", "--no-progress")
    assert text.returncode == 0, text.stderr
    assert "p95 ms" in text.stdout and "recommendation" in text.stdout and "quality [95% CI]" in text.stdout
    rerun = json.loads((tmp_path / "rerun" / "cli-test" / "summary.json").read_text())
    # a rerun of the same run re-uses every answer it paid for; only its failures are called again
    assert rerun["cache_hits"] >= doc["ok"]
    assert rerun["rows"] - rerun["cache_hits"] <= doc["errors"]


def test_limit_and_intents(tmp_path):
    from mangaeval.golden import load_dataset, sample_per_intent

    proc = run_cli("evaluate", "--configs", "nova-micro", "--dataset", "v0", "--out", str(tmp_path), "--limit", "3",
                   "--intents", "faq", "chitchat", "--no-cache", "--json", "--run-id", "limited")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == 6
    wanted = [c for c in load_dataset("v0").cases if c.intent in ("faq", "chitchat")]
    assert sorted(read_results(tmp_path / "limited" / "results.parquet")["test_id"]) == sorted(c.test_id for c in sample_per_intent(wanted, 3, 0))
    seeded = run_cli("evaluate", "--configs", "nova-micro", "--dataset", "v0", "--out", str(tmp_path), "--limit", "4", "--sample-seed", "9",
                     "--intents", "faq", "--json", "--run-id", "seeded", "--cache-dir", str(tmp_path / "cache"))
    assert seeded.returncode == 0, seeded.stderr
    faq = [c for c in wanted if c.intent == "faq"]
    assert sorted(read_results(tmp_path / "seeded" / "results.parquet")["test_id"]) == sorted(c.test_id for c in sample_per_intent(faq, 4, 9))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--configs", "gpt-5"], "unknown configuration id(s): gpt-5"),
        (["--configs", "nova-micro", "--dataset", "v99"], "v99: no such dataset"),
        (["--configs", "nova-micro", "--limit", "0"], "--limit must be a positive"),
        (["--configs", "nova-micro", "--limit", "3", "--sample-seed", "abc"], "argument --sample-seed: invalid int value: 'abc'"),
        (["--configs", "nova-micro", "--intents", "weather"], "unknown or empty intent(s) ['weather']"),
    ],
)
def test_bad_arguments_fail_before_any_call(tmp_path, args, message):
    full = ["evaluate", "--dataset", "v0", "--out", str(tmp_path), *args]
    proc = run_cli(*full)
    assert proc.returncode == 2 and message in proc.stderr
    assert not any(tmp_path.rglob("*.parquet"))


def test_decide_what_if_json(tmp_path):
    proc = run_cli("evaluate", "--configs", "sonnet-3-5-v2,haiku-3-5", "--dataset", "v1", "--limit", "4", "--out", str(tmp_path),
                   "--run-id", "whatif", "--no-cache", "--json")
    assert proc.returncode == 0, proc.stderr
    results = tmp_path / "whatif" / "results.parquet"
    proc = run_cli("decide", "--results", str(results), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {"aggregates", "frontier", "routing", "projection"} <= set(doc)
    assert len(doc["aggregates"]) == 16 and set(doc["frontier"]) == set(doc["routing"]["routes"])
    for route in doc["routing"]["routes"].values():
        assert {"config_id", "model_id", "reason", "flagged", "mean_quality", "pass_rate", "latency_p95_ms", "mean_cost_usd"} <= set(route)
    assert {"recommended_monthly_usd", "baseline_monthly_usd", "per_configuration"} <= set(doc["projection"])
    assert doc["projection"]["per_configuration"]["haiku-3-5"] < doc["projection"]["per_configuration"]["sonnet-3-5-v2"]


def test_decide_rejects_unusable_results(tmp_path):
    import pandas as pd

    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"run_id": ["r"], "config_id": ["c"]}).to_parquet(bad)
    proc = run_cli("decide", "--results", str(bad))
    assert proc.returncode == 2 and f"{bad}: missing column(s)" in proc.stderr
