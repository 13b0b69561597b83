"""Clusters: the cluster id of a case, and statistics that respect clusters, against reference computations
(statsmodels' cluster-robust OLS, an exact enumeration of a tiny bootstrap, statsmodels' Wilson interval), with
the warehouse's SQL intervals held to the Python ones on DuckDB and PostgreSQL."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from mangaeval.cluster_stats import (clustered_mean, cluster_bootstrap_ci, effective_n, normal_interval, paired_lower_bound,
                                     wilson_interval)
from mangaeval.clusters import cluster_id, derived_cluster_id, with_cluster_ids
from mangaeval.golden import GoldenCase, read_cases
from mangaeval.pipeline.proposals import detectable_drop
from mangaeval.results import read_results, rows_to_frame, write_results
from mangaeval.summary import summarize
from mangaeval.warehouse import connect
from mangaeval.warehouse.decide import decisions_document, run_tables
from mangaeval.warehouse.pairs import quality_pairs
from mangaeval.warehouse.policy import load_policy
from tests.conftest import postgres_test_uri


def _case(query: str, cluster: str = "", test_id: str = "t-1") -> GoldenCase:
    return GoldenCase(test_id=test_id, intent="chitchat", language="en", query=query, page_context={}, history=[], grounding={},
                      expected={"must_contain": [], "must_not_contain": [], "reference_answer": "hi"}, cluster=cluster)


# --- cluster ids ------------------------------------------------------------------------------------------------
def test_cases_sharing_a_normalised_query_share_a_cluster():
    same = ["Is volume 3 in stock?", "is VOLUME ３   in stock", "  Is volume 3, in stock!! "]  # case, full-width digit, punctuation
    assert len({cluster_id(_case(q)) for q in same}) == 1
    assert cluster_id(_case(same[0])) != cluster_id(_case("Is volume 4 in stock?"))
    assert cluster_id(_case("こんにちは！")) == cluster_id(_case("こんにちは")) == derived_cluster_id("こんにちは")
    assert cluster_id(_case("Hi")).startswith("q:")
    # an explicit cluster (a generator's template) wins over the query
    assert cluster_id(_case("Hi", cluster="greet-01")) == cluster_id(_case("Good evening", cluster="greet-01")) == "c:greet-01"


def test_the_cluster_field_is_optional_validated_and_kept(tmp_path):
    base = _case("hello").to_json()
    lines = [json.dumps({**base, "test_id": "a", "cluster": "tmpl-7"}), json.dumps({**base, "test_id": "b"}),
             json.dumps({**base, "test_id": "c", "cluster": 7}), json.dumps({**base, "test_id": "d", "cluster": "  "})]
    path = tmp_path / "chitchat.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cases, problems = read_cases(path)
    assert [c.test_id for c in cases] == ["a", "b"]
    assert cases[0].cluster == "tmpl-7" and cases[0].to_json()["cluster"] == "tmpl-7" and "cluster" not in cases[1].to_json()
    assert problems == [f"{path}:3: field 'cluster' must be string, got int",
                        f"{path}:4: field 'cluster' is empty (leave it out to derive the cluster from the query)"]


def test_results_without_cluster_ids_load_with_each_case_its_own_cluster(tmp_path):
    frame = rows_to_frame([{"run_id": "r", "config_id": "a", "test_id": f"t{i}", "status": "ok", "cluster_id": "q:1" if i else None}
                           for i in range(3)])
    assert list(with_cluster_ids(frame)["cluster_id"]) == ["t0", "q:1", "q:1"]
    old = tmp_path / "old.parquet"
    frame.drop(columns=["cluster_id"]).to_parquet(old, index=False)  # a file written before the column existed
    assert list(read_results(old)["cluster_id"]) == ["t0", "t1", "t2"]
    assert list(read_results(write_results(frame, tmp_path / "new.parquet"))["cluster_id"]) == ["t0", "q:1", "q:1"]


# --- cluster-robust variance and the paired test ------------------------------------------------------------------
def _clustered_sample(seed: int, clusters: int = 14) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, clusters)  # uneven clusters, some singletons
    groups = np.repeat(np.arange(clusters), sizes)
    effect = rng.normal(0, 0.05, clusters)[groups]  # what a cluster's cases share
    return rng.normal(0.01, 0.04, groups.size) + effect, groups


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_paired_bound_equals_statsmodels_cluster_robust_ols(seed):
    diff, groups = _clustered_sample(seed)
    reference = sm.OLS(diff, np.ones_like(diff)).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    m = clustered_mean(diff, groups)
    assert m.clusters == len(set(groups)) and m.n == diff.size
    assert m.mean == pytest.approx(reference.params[0], rel=1e-12)
    assert m.cr1_variance == pytest.approx(reference.cov_params()[0, 0], rel=1e-10)  # CR1: G/(G-1) and (N-1)/(N-K) = 1
    assert m.cr1_variance > diff.var(ddof=1) / diff.size and m.variance == m.cr1_variance  # shared cluster effects: wider
    mean, lower, clusters = paired_lower_bound(diff, groups)
    assert lower == pytest.approx(reference.conf_int(alpha=0.05)[0, 0], rel=1e-10)  # t with G-1 degrees of freedom
    assert clusters == m.clusters and reference.df_resid_inference == clusters - 1


def test_clusters_never_narrow_the_naive_interval():
    # cases that differ within their cluster (+d and -d around a common centre): CR1 is below the naive variance
    rng = np.random.default_rng(8)
    spread = rng.normal(0, 0.05, 20)
    diff = np.concatenate([0.01 + spread, 0.01 - spread]) + rng.normal(0, 0.002, 40)
    groups = np.tile(np.arange(20), 2)
    reference = sm.OLS(diff, np.ones_like(diff)).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    m = clustered_mean(diff, groups)
    naive = diff.var(ddof=1) / diff.size
    assert m.cr1_variance == pytest.approx(reference.cov_params()[0, 0], rel=1e-10) and m.cr1_variance < naive / 10
    assert m.variance == pytest.approx(naive)  # floored: the design effect is at least 1
    assert paired_lower_bound(diff, groups)[1] == pytest.approx(m.mean - stats.t.ppf(0.975, 19) * np.sqrt(naive))
    assert normal_interval(diff, groups)[0] == pytest.approx(normal_interval(diff)[0])


def test_singleton_clusters_give_the_naive_t_bound_and_duplicates_buy_no_confidence():
    diff, _ = _clustered_sample(4)
    naive = stats.ttest_1samp(diff, 0.0).confidence_interval(0.95).low
    assert paired_lower_bound(diff)[1] == pytest.approx(naive, rel=1e-12)
    assert paired_lower_bound(diff, np.arange(diff.size))[1] == pytest.approx(naive, rel=1e-12)
    # every case planted three times: the naive bound tightens, the cluster-robust one is the deduplicated bound exactly
    planted, groups = np.repeat(diff, 3), np.repeat(np.arange(diff.size), 3)
    assert paired_lower_bound(planted)[1] > naive + 0.002
    assert paired_lower_bound(planted, groups)[1] == pytest.approx(naive, rel=1e-9)


def test_degenerate_paired_samples():
    assert paired_lower_bound(np.array([])) == (None, None, 0)
    assert paired_lower_bound(np.array([0.1, 0.3, 0.2]), ["a", "a", "a"]) == (pytest.approx(0.2), None, 1)  # one cluster: no bound
    assert paired_lower_bound(np.full(4, 0.05), ["a", "a", "b", "c"]) == (0.05, 0.05, 3)
    with pytest.raises(ValueError):
        clustered_mean([0.1, 0.2], ["a"])


def test_detectable_drop_uses_the_clusters_degrees_of_freedom():
    mean, lower, clusters = paired_lower_bound(*_clustered_sample(5, clusters=6))
    se = (mean - lower) / stats.t.ppf(0.975, clusters - 1)
    expected = (stats.t.ppf(0.975, clusters - 1) + stats.norm.ppf(0.8)) * se
    assert detectable_drop(40, mean, lower, 0.8, clusters) == pytest.approx(expected)
    assert detectable_drop(40, mean, lower, 0.8, 1) is None
    naive_t = stats.t.ppf(0.975, 39)  # pairs recorded without clusters: n_pairs - 1
    assert detectable_drop(40, mean, lower, 0.8) == pytest.approx((naive_t + stats.norm.ppf(0.8)) * (mean - lower) / naive_t)


# --- cluster bootstrap ------------------------------------------------------------------------------------------
def test_cluster_bootstrap_matches_an_exact_enumeration_of_a_tiny_sample():
    values = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.5, 0.5])
    clusters = np.array(["a"] * 4 + ["b"] + ["c"] * 2)
    totals = {"a": (4.0, 4), "b": (0.0, 1), "c": (1.0, 2)}  # (sum, cases) per cluster, by hand
    exact = np.array([sum(totals[k][0] for k in draw) / sum(totals[k][1] for k in draw) for draw in itertools.product("abc", repeat=3)])
    (low, high), resampled = cluster_bootstrap_ci(values, clusters, distribution=True)
    assert resampled.mean() == pytest.approx(exact.mean(), abs=0.02)
    assert resampled.std() == pytest.approx(exact.std(), rel=0.06)
    # all three draws "b" (mean 0) and all three "a" (mean 1) each have probability 1/27 > 2.5%: the exact quantiles
    assert (low, high) == (0.0, 1.0)
    naive_low, naive_high = cluster_bootstrap_ci(values)
    assert naive_low > 0.3 and naive_high < 1.0  # seven "independent" values claim far more
    assert cluster_bootstrap_ci(values, clusters) == (low, high)  # seeded
    assert cluster_bootstrap_ci(values, ["x"] * 7) == (None, None)


def test_summary_reports_clusters_and_a_cluster_bootstrap_interval():
    rng = np.random.default_rng(6)
    base = rng.uniform(0.5, 1.0, 30)
    copies = rng.integers(1, 6, 30)
    rows = [{"run_id": "r", "config_id": "a", "model_id": "m", "intent": "faq", "test_id": f"t{g}-{k}", "status": "ok",
             "cost_usd": 0.001, "latency_ms": 100, "input_tokens": 10, "output_tokens": 5, "cache_hit": False,
             "quality_score": float(base[g]), "passed": bool(base[g] >= 0.75), "cluster_id": f"q:{g}"}
            for g in range(30) for k in range(int(copies[g]))]
    frame = rows_to_frame(rows)
    row = next(r for r in summarize(frame) if r["intent"] == "faq")
    assert row["scored"] == int(copies.sum()) and row["clusters"] == 30
    naive = next(r for r in summarize(frame.drop(columns=["cluster_id"])) if r["intent"] == "faq")
    assert naive["clusters"] == naive["scored"]
    width = row["mean_quality_ci95"][1] - row["mean_quality_ci95"][0]
    assert width > 1.2 * (naive["mean_quality_ci95"][1] - naive["mean_quality_ci95"][0])


# --- the pass-rate interval ---------------------------------------------------------------------------------------
def test_pass_rate_interval_is_wilson_on_the_effective_number_of_cases():
    passed = np.array([1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1], dtype=float)
    groups = np.array([0, 0, 0, 1, 1, 2, 3, 4, 4, 5, 6, 7, 8, 8])
    m = clustered_mean(passed, groups)
    n_eff = m.mean * (1 - m.mean) / m.cr1_variance
    assert effective_n(m.mean, m.cr1_variance, m.n, m.clusters) == pytest.approx(min(n_eff, 14))
    low, high = proportion_confint(m.mean * min(n_eff, 14), min(n_eff, 14), alpha=0.05, method="wilson")
    assert wilson_interval(passed, groups) == (pytest.approx(low, abs=1e-3), pytest.approx(high, abs=1e-3))  # 1.96 vs 1.95996
    # every case passed: no spread to measure, so the clusters are the evidence (not the 40 cases)
    all_pass = wilson_interval(np.ones(40), np.arange(40) % 8)
    assert all_pass == pytest.approx(proportion_confint(8, 8, alpha=0.05, method="wilson"), abs=1e-3) and all_pass[1] == 1.0
    assert all_pass[0] < wilson_interval(np.ones(40))[0]
    assert wilson_interval(np.ones(3), ["a"] * 3) == (None, None)


# --- the warehouse: SQL intervals equal the Python ones; clusters in quality_pairs and the decision record --------
def _clustered_results() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    queries = {"faq": 12, "chitchat": 4}
    for intent, n_clusters in queries.items():
        sizes = rng.integers(1, 7, n_clusters)
        cases = [(f"{intent}-{g}-{k}", f"q:{intent}{g}") for g in range(n_clusters) for k in range(int(sizes[g]))]
        shared = {g: rng.normal(0, 0.08) for g in range(n_clusters)}
        for config, (centre, cost) in {"big": (0.88, 0.003), "small": (0.84, 0.001), "perfect": (1.0, 0.002), "lonely": (0.8, 0.0005),
                                       "broken": (0.5, 0.0001), "flaky": (1.0, 0.0007)}.items():
            for test_id, cluster in cases:
                g = int(cluster.split(intent)[1])
                ok = config != "broken"
                if config == "lonely" and g != 0:
                    continue  # answers one cluster only: no interval
                if config == "flaky":  # perfect but on one cluster: an interval that a normal approximation puts above 1
                    q = 0.2 if g == 0 else 1.0
                else:
                    q = 1.0 if config == "perfect" else float(np.clip(centre + shared[g] + rng.normal(0, 0.05), 0, 1)) if ok else None
                rows.append({"run_id": "r1", "config_id": config, "model_id": f"m-{config}", "intent": intent, "test_id": test_id,
                             "language": "en", "dataset_version": "t", "prompt_version": "v1", "response_text": "x" if ok else None,
                             "status": "ok" if ok else "error", "error_code": None if ok else "ThrottlingException", "attempts": 1,
                             "cache_hit": False, "wall_ms": 1.0, "input_tokens": 100 if ok else None, "output_tokens": 20 if ok else None,
                             "cost_usd": cost if ok else None, "latency_ms": int(rng.integers(300, 900)) if ok else None,
                             "quality_score": q, "passed": (q >= 0.75) if ok else None,
                             # an older loader's rows (NULL cluster) for faq's "small": each case its own cluster
                             "cluster_id": None if (intent, config) == ("faq", "small") else cluster})
    return rows_to_frame(rows)


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def loaded(request):
    frame = _clustered_results()
    warehouse = connect("duckdb:///:memory:") if request.param == "duckdb" else connect(postgres_test_uri("clusters"))
    warehouse.ensure_schema()
    warehouse.load_run("r1", run_tables(frame, "r1", load_policy(), None))
    yield warehouse, frame
    if request.param == "postgresql":
        warehouse.drop_schema()
    warehouse.close()


@pytest.mark.integration
def test_mart_intervals_equal_the_python_cluster_robust_intervals(loaded):
    warehouse, frame = loaded
    frame = with_cluster_ids(frame)
    mart = warehouse.query("dashboards/evaluation_run.sql", {"run_id": "r1"})
    assert len(mart) == 12  # every configuration of both intents, the all-error one too
    for row in mart.itertuples():
        mine = frame[(frame["intent"] == row.intent) & (frame["config_id"] == row.config_id) & frame["quality_score"].notna()]
        quality = mine["quality_score"].astype("float64").to_numpy()
        passed = mine["passed"].astype(bool).astype("float64").to_numpy()
        groups = mine["cluster_id"].astype(object).to_numpy()
        assert (row.scored, row.clusters) == (len(mine), len(set(groups))), (row.intent, row.config_id)
        for (got_low, got_high), (low, high) in (((row.quality_ci_low, row.quality_ci_high), normal_interval(quality, groups)),
                                                 ((row.pass_ci_low, row.pass_ci_high), wilson_interval(passed, groups))):
            if low is None:
                assert pd.isna(got_low) and pd.isna(got_high), (row.intent, row.config_id)
            else:
                assert (float(got_low), float(got_high)) == (pytest.approx(low, abs=1e-7), pytest.approx(high, abs=1e-7))
    by = mart.set_index(["intent", "config_id"])
    assert by.loc[("faq", "small"), "clusters"] == by.loc[("faq", "small"), "scored"]  # rows without clusters: naive
    assert by.loc[("faq", "big"), "clusters"] == 12 and by.loc[("faq", "big"), "scored"] > 12
    assert float(by.loc[("faq", "perfect"), "pass_ci_high"]) == pytest.approx(1.0)
    flaky = frame[(frame["intent"] == "chitchat") & (frame["config_id"] == "flaky")]
    assert normal_interval(flaky["quality_score"].astype(float), flaky["cluster_id"].astype(object), bounds=None)[1] > 1
    assert float(by.loc[("chitchat", "flaky"), "quality_ci_high"]) == 1.0  # cut to where scores lie
    assert by.loc[("faq", "broken"), "scored"] == 0 and pd.isna(by.loc[("faq", "broken"), "pass_ci_low"])


@pytest.mark.integration
def test_pairs_and_decision_record_carry_clusters_beside_cases(loaded):
    warehouse, frame = loaded
    doc = decisions_document(warehouse, "r1")
    pairs = {(p["intent"], p["config_id"], p["reference_config_id"]): p for p in doc["pairs"]}
    expected = {(p["intent"], p["config_id"], p["reference_config_id"]): p for p in quality_pairs(frame)}
    assert set(pairs) == set(expected)
    big_small = pairs[("faq", "big", "small")]
    assert big_small["n_clusters"] == 12 and big_small["n_pairs"] > 12  # "small" lacks clusters, "big" has them: paired by case
    for key, p in expected.items():
        assert pairs[key]["n_clusters"] == p["n_clusters"] and pairs[key]["n_pairs"] == p["n_pairs"]
        assert (pairs[key]["lower_95"] is None) == (p["lower_95"] is None)
        if p["lower_95"] is not None:
            assert pairs[key]["lower_95"] == pytest.approx(p["lower_95"])
    aggregates = {(a["intent"], a["config_id"]): a for a in doc["aggregates"]}
    assert aggregates[("chitchat", "big")]["clusters"] == 4 and aggregates[("faq", "lonely")]["clusters"] == 1
