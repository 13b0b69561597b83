"""The benchmark suite's statistics, the regression rule, baselines in the object store, CI output and the cost model.
No timing assertions: the samples are constructed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats as sps

from mangaeval.bench import baselines, compare as cmp
from mangaeval.bench.cost import estimate, load_mix
from mangaeval.bench.rule import BASELINE, IMPROVEMENT, PASS, REGRESSION, judge
from mangaeval.bench.stats import describe
from mangaeval.paths import CONFIG_DIR

from tests.conftest import object_store


# Statistics -----------------------------------------------------------------------------------------------------
def test_describe_matches_numpy_and_scipy_on_a_known_sample():
    x = list(range(1, 101))  # 1..100
    d = describe(x, n_boot=500)
    assert d["n"] == 100 and d["mean"] == 50.5 and d["median"] == 50.5 and d["min"] == 1 and d["max"] == 100
    assert d["sd"] == pytest.approx(np.std(x, ddof=1)) == pytest.approx(29.011491975882016)
    # linear interpolation (PERCENTILE_CONT): P95 of 1..100 = 1 + 0.95 * 99 = 95.05
    assert d["p95"] == pytest.approx(95.05) and d["p50"] == pytest.approx(50.5) and d["p99"] == pytest.approx(99.01)
    assert d["p95"] == pytest.approx(float(sps.scoreatpercentile(x, 95)))


def test_bootstrap_interval_of_the_mean_agrees_with_scipy():
    rng = np.random.default_rng(3)
    x = rng.lognormal(7, 0.3, size=200)
    ours = describe(x, n_boot=4000, seed=1)["mean_ci"]
    ref = sps.bootstrap((x,), np.mean, n_resamples=4000, method="percentile", random_state=2).confidence_interval
    assert ours[0] == pytest.approx(ref.low, rel=0.01) and ours[1] == pytest.approx(ref.high, rel=0.01)
    d = describe(x)
    for p in ("p50", "p95", "p99"):
        assert d[f"{p}_ci"][0] <= d[p] <= d[f"{p}_ci"][1]


def test_describe_of_nothing_is_empty_not_zero():
    assert describe([]) == {"n": 0}


# The rule --------------------------------------------------------------------------------------------------------
def _sample(seed: int, n: int = 300, scale: float = 1.0) -> list[float]:
    return list(np.random.default_rng(seed).normal(1200, 300, size=n).clip(100) * scale)


def test_no_baseline_is_BASELINE():
    v = judge("latency_p95_ms", None, _sample(1))
    assert v.status == BASELINE and v.baseline is None and v.ratio is None


def test_clear_regression_noise_and_improvement():
    base = _sample(1)
    assert judge("latency_p95_ms", base, _sample(2, scale=1.5)).status == REGRESSION
    assert judge("latency_p95_ms", base, _sample(2)).status == PASS  # another draw of the same distribution
    assert judge("latency_p95_ms", base, _sample(2, scale=0.6)).status == IMPROVEMENT


def test_worse_by_more_than_10_percent_without_evidence_is_PASS():
    base = [1000.0] * 5 + [1500.0] * 5  # ten requests: P95 moves a lot by chance
    cur = [1000.0] * 5 + [1500.0] * 4 + [1800.0]
    v = judge("latency_p95_ms", base, cur)
    assert v.ratio > 1.10 and v.ci_low <= 1.0 and v.status == PASS


def test_throughput_lower_is_worse_and_cost_higher_is_worse():
    base = _sample(1)
    slower = judge("throughput_rps", base, _sample(2, scale=1.5), workers=10, baseline_workers=10)
    assert slower.status == REGRESSION and slower.current < slower.baseline
    assert slower.current == pytest.approx(10 / (np.mean(_sample(2, scale=1.5)) / 1000))
    assert judge("throughput_rps", base, _sample(2, scale=0.6), workers=10).status == IMPROVEMENT
    cost = [0.001] * 100
    assert judge("cost_per_query_usd", cost, [0.0013] * 100).status == REGRESSION
    assert judge("cost_per_query_usd", cost, [0.00105] * 100).status == PASS
    assert judge("cost_per_query_usd", cost, [0.0007] * 100).status == IMPROVEMENT


def test_paired_by_prompt_when_both_runs_asked_the_same_prompts():
    rng = np.random.default_rng(5)
    per_prompt = rng.uniform(500, 3000, size=100)  # the prompts differ a lot; the runs differ by a little jitter
    keys = [f"p{i}" for i in range(100)]
    base = list(per_prompt + rng.normal(0, 20, 100))
    cur = list(per_prompt * 1.15 + rng.normal(0, 20, 100))
    paired = judge("latency_p95_ms", base, cur, baseline_keys=keys, current_keys=keys)
    assert paired.status == REGRESSION and paired.ci_low > 1.10
    unpaired = judge("latency_p95_ms", base, cur)
    assert unpaired.ci_high - unpaired.ci_low > paired.ci_high - paired.ci_low  # prompt-to-prompt spread is not noise


# Baselines: accept / compare round trip ------------------------------------------------------------------------
def _result(result_id: str, scale: float = 1.0, seed: int = 1, environment: str = "double") -> dict:
    lat = _sample(seed, scale=scale)
    keys = [f"k{i}" for i in range(len(lat))]
    return {"schema": "mangaeval.bench/1", "result_id": result_id, "created_at": "2026-12-01T00:00:00+00:00", "environment": environment,
            "settings": {"workers": 10}, "configs": {"haiku-3-5": {
                "model_id": "anthropic.claude-3-5-haiku-20241022-v1:0",
                "latency": {"samples_ms": lat, "keys": keys}, "throughput": {"workers": 10, "samples_ms": lat, "keys": keys},
                "cost": {"samples_usd": [0.0005] * len(lat), "keys": keys}, "chain": {"build_ms": {"n": 0}}}}}


def test_rule_error_rates_on_the_doubles_latency_distribution():
    """A cheaper run of benchmarks/bench_rule_validity.py (100 comparisons instead of 200, seeded, so the same figures
    every time): runs drawn from the double's own per-prompt latencies at the default 300 requests. The script prints
    the full measurement against the targets (<= 5% false REGRESSION, >= 95% of true +20% flagged); this guards the
    rule against losing its validity by a change to it, the prompts or the double."""
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("bench_rule_validity", ROOT / "benchmarks" / "bench_rule_validity.py")
    validity = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(validity)
    table = validity.population("haiku-3-5", 300)
    assert validity.rate(table, 1.0, 100, 0.0, seed=1000) <= 0.05
    assert validity.rate(table, 1.2, 100, 0.0, seed=1200) >= 0.93


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, monkeypatch):
    return object_store(request.param, request, tmp_path, monkeypatch, "bench")


def test_accept_compare_round_trip(store):
    first = _result("20261201T000000Z-aaaaaa")
    rows = cmp.compare(store, first)
    assert {r["status"] for r in rows} == {BASELINE} and {r["figure"] for r in rows} == {"latency_p95_ms", "throughput_rps", "cost_per_query_usd"}
    baselines.save_result(store, first)
    written = baselines.accept(store, baselines.load_result(store), accepted_by="test")  # the latest result
    assert {(w["benchmark"], w["version"]) for w in written} == {("latency", 1), ("throughput", 1), ("cost", 1), ("chain", 1)}
    assert {r["status"] for r in cmp.compare(store, _result("20261202T000000Z-bbbbbb", seed=2))} == {PASS}
    worse = {r["figure"]: r for r in cmp.compare(store, _result("20261203T000000Z-cccccc", scale=1.4, seed=3))}
    assert worse["latency_p95_ms"]["status"] == REGRESSION and worse["throughput_rps"]["status"] == REGRESSION
    assert worse["latency_p95_ms"]["baseline_version"] == 1 and worse["latency_p95_ms"]["baseline_result_id"] == first["result_id"]
    # comparing never moves a baseline; an explicit accept does (version 2), per environment label
    second = _result("20261204T000000Z-dddddd", scale=1.4, seed=4)
    baselines.save_result(store, second)
    baselines.accept(store, baselines.load_result(store, second["result_id"]), configs=["haiku-3-5"], benchmarks=["latency"])
    assert baselines.current_baseline(store, "double", "haiku-3-5", "latency")["version"] == 2
    assert baselines.current_baseline(store, "double", "haiku-3-5", "throughput")["version"] == 1
    assert baselines.current_baseline(store, "aws", "haiku-3-5", "latency") is None
    assert {r["status"] for r in cmp.compare(store, _result("20261205T000000Z-eeeeee", environment="aws"))} == {BASELINE}


def test_accept_refuses_an_unknown_configuration(store):
    from mangaeval.errors import MangaEvalError

    with pytest.raises(MangaEvalError, match="nova-lite"):
        baselines.accept(store, _result("20261201T000000Z-aaaaaa"), configs=["nova-lite"])


# CI output ---------------------------------------------------------------------------------------------------------
def test_annotation_and_markdown_format(tmp_path):
    from mangaeval.objectstore import LocalStore

    store = LocalStore(tmp_path)
    baselines.accept(store, _result("20261201T000000Z-aaaaaa"))
    result = _result("20261203T000000Z-cccccc", scale=1.4, seed=3)
    rows = cmp.compare(store, result)
    lines = cmp.annotations(rows, result["result_id"])
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 2  # P95 latency and throughput; cost unchanged
    p95 = next(line for line in errors if "P95 latency" in line)
    assert p95.startswith("::error title=Benchmark regression%3A P95 latency of haiku-3-5::P95 latency ")
    assert "vs baseline " in p95 and "(v1, result 20261201T000000Z-aaaaaa)" in p95 and "95% CI" not in p95.split("::", 2)[1]
    assert "%25" in p95 and "\n" not in p95  # '%' escaped as workflow commands require
    md = cmp.markdown(rows, result)
    assert md.startswith("## Benchmark comparison: result `20261203T000000Z-cccccc` (double)")
    assert "| haiku-3-5 | P95 latency |" in md and "❌ REGRESSION" in md


def test_notice_for_a_figure_without_baseline(tmp_path):
    from mangaeval.objectstore import LocalStore

    rows = cmp.compare(LocalStore(tmp_path), _result("20261201T000000Z-aaaaaa"))
    assert all(line.startswith("::notice title=Benchmark%3A no baseline for ") for line in cmp.annotations(rows, "x"))


# The cost model ------------------------------------------------------------------------------------------------------
def test_cost_model_against_the_hand_worked_design_mix():
    """The design document's mix at 1M messages/day, 30 days (Claude 3 Haiku $0.25/$1.25, Sonnet $3/$15 per 1M tokens):

    type            share  in/out    model   hit   $/query                              billed/day              $/day
    greeting/FAQ    20%    80/60     Haiku   90%   (80*.25 + 60*1.25)/1e6 = 0.000095      1e6*.20*(1-.90) = 20,000    1.90
    product lookup  30%    150/120   Haiku   40%   (37.5 + 150)/1e6      = 0.0001875    1e6*.30*.60 = 180,000      33.75
    recommendation  20%    300/250   Sonnet  10%   (900 + 3750)/1e6      = 0.00465      1e6*.20*.90 = 180,000     837.00
    order status    15%    100/80    Haiku    5%   (25 + 100)/1e6        = 0.000125     1e6*.15*.95 = 142,500      17.8125
    multi-turn      15%    500/400   Sonnet   5%   (1500 + 6000)/1e6     = 0.0075       142,500                 1,068.75
    total $/day = 1.90 + 33.75 + 837.00 + 17.8125 + 1,068.75 = 1,959.2125; x30 = $58,776.375/month
    batch (half): $979.60625/day, $29,388.1875/month.
    Cache savings/month: sum of billed-without-cache x hit x $/query x 30 =
      30 * (200,000*.9*.000095 + 300,000*.4*.0001875 + 200,000*.1*.00465 + 150,000*.05*.000125 + 150,000*.05*.0075)
    = 30 * (17.1 + 22.5 + 93.0 + 0.9375 + 56.25) = 30 * 189.7875 = 5,693.625
    """
    mix = load_mix(CONFIG_DIR / "cost_mix.yaml")
    doc = estimate(mix["query_types"], 1_000_000, 30, mix["batch_price_factor"])
    by = {r["query_type"]: r for r in doc["per_query_type"]}
    assert by["greeting_faq"]["cost_per_query_usd"] == pytest.approx(0.000095)
    assert by["recommendation"]["daily_usd"] == pytest.approx(837.00)
    assert by["order_status"]["daily_usd"] == pytest.approx(17.8125)
    assert by["complex_multi_turn"]["billed_per_day"] == pytest.approx(142_500)
    assert doc["daily_usd"] == pytest.approx(1959.2125)
    assert doc["monthly_usd"] == pytest.approx(58776.375)
    assert doc["daily_batch_usd"] == pytest.approx(979.60625) and doc["monthly_batch_usd"] == pytest.approx(29388.1875)
    assert doc["cache_savings_monthly_usd"] == pytest.approx(5693.625)


def test_cost_model_uses_the_projection_arithmetic_and_catalog_prices(monkeypatch):
    from mangaeval.bench import cost
    from mangaeval.routing import projection

    calls = []
    real = projection.billed_messages
    monkeypatch.setattr(cost, "billed_messages", lambda *a: calls.append(a) or real(*a))
    mix = load_mix(CONFIG_DIR / "cost_mix.yaml")
    estimate(mix["query_types"][:1], 1000, 30)
    assert calls and cost.billed_messages is not projection.billed_messages and calls[0] == (1000.0, 0.2, 1, 0.9)


def test_mix_problems_are_all_named(tmp_path):
    from mangaeval.errors import ConfigError

    bad = tmp_path / "mix.yaml"
    bad.write_text("query_types:\n  a: {share: 0.5, input_tokens: -1, output_tokens: 10, model: nope, cache_hit_rate: 0.1}\n")
    with pytest.raises(ConfigError) as err:
        load_mix(bad)
    text = str(err.value)
    assert "input_tokens" in text and "unknown model 'nope'" in text


def test_cli_cost_estimate_and_bad_input(capsys):
    from mangaeval.cli import main

    assert main(["cost", "estimate", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["monthly_usd"] == pytest.approx(58776.375)
    assert main(["cost", "estimate", "--mix", "/nonexistent.yaml"]) == 2
    assert "no such query-mix file" in capsys.readouterr().err
    assert main(["bench", "compare", "--results", "/nonexistent.json"]) == 2
