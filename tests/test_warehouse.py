"""The warehouse SQL equals an independent pandas computation, on DuckDB and on PostgreSQL; loads are
idempotent and atomic; identifiers come from an allow-list."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from mangaeval.results import rows_to_frame
from mangaeval.warehouse import connect
from mangaeval.warehouse.decide import decisions_document, run_tables
from mangaeval.warehouse.policy import load_policy
from mangaeval.warehouse.sqlfiles import checked_table, engine_variant, placeholders, read_sql, to_paramstyle
from tests.warehouse_reference import frontier, metrics, recommendation
from tests.conftest import postgres_test_uri

POLICY = load_policy()
INTENTS = ["recommendation", "faq", "chitchat", "order_tracking"]


def random_results(seed: int, run_id: str = "r1") -> pd.DataFrame:
    """Randomised results with the awkward cases: exact ties, a single-config intent, an all-error config."""
    rng = np.random.default_rng(seed)
    configs = {"sonnet-3-5-v2": (0.9, 0.003, 1800), "haiku-3-5": (0.8, 0.0008, 600), "nova-lite": (0.7, 0.0001, 500),
               "twin-of-haiku": None, "broken": (0.5, 0.001, 900)}
    rows = []
    for intent in INTENTS:
        for config, spec in configs.items():
            if intent == "chitchat" and config != "haiku-3-5":
                continue  # single-configuration intent
            for case in range(int(rng.integers(8, 30)) if config != "twin-of-haiku" else 0):
                ok = config != "broken" and rng.random() > 0.05
                q = float(np.clip(rng.normal(spec[0], 0.1), 0, 1)) if ok else None
                rows.append({"run_id": run_id, "config_id": config, "model_id": f"m-{config}", "intent": intent,
                             "test_id": f"{intent}-{case:03d}", "language": "en", "dataset_version": "t", "prompt_version": "v1",
                             "response_text": "x" if ok else None, "status": "ok" if ok else "error",
                             "error_code": None if ok else "ThrottlingException", "attempts": 1, "cache_hit": False, "wall_ms": 1.0,
                             "input_tokens": int(rng.integers(100, 900)) if ok else None,
                             "output_tokens": int(rng.integers(10, 300)) if ok else None,
                             "cost_usd": float(rng.uniform(0.5, 1.5) * spec[1]) if ok else None,
                             "latency_ms": int(rng.normal(spec[2], 200)) if ok else None,
                             "quality_score": q, "passed": (q >= 0.75) if ok else None})
    frame = pd.DataFrame(rows)
    twin = frame[frame["config_id"] == "haiku-3-5"].assign(config_id="twin-of-haiku", model_id="m-twin")  # an exact tie
    both = pd.concat([frame, twin], ignore_index=True).astype(object)
    return rows_to_frame(both.where(both.notna(), None).to_dict("records"))


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse(request):
    if request.param == "duckdb":
        wh = connect("duckdb:///:memory:")
        yield wh
        wh.close()
        return
    wh = connect(postgres_test_uri("test"))
    yield wh
    wh.drop_schema()
    wh.close()


def load(warehouse, frame, run_id="r1", current=None):
    warehouse.ensure_schema()
    return warehouse.load_run(run_id, run_tables(frame, run_id, POLICY, current))


@pytest.mark.integration
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_equals_pandas_reference(warehouse, seed):
    frame = random_results(seed)
    load(warehouse, frame, current={"recommendation": "sonnet-3-5-v2"})
    doc = decisions_document(warehouse, "r1")
    expected = metrics(frame).set_index(["intent", "config_id"])
    got = pd.DataFrame(doc["aggregates"]).set_index(["intent", "config_id"])
    assert set(got.index) == set(expected.index)
    for column in ["calls", "ok_calls", "error_rate", "mean_quality", "pass_rate", "mean_cost_usd", "latency_p50_ms",
                   "latency_p95_ms", "latency_p99_ms"]:
        for key in expected.index:
            a, b = got.loc[key, column], expected.loc[key, column]
            if b is None or pd.isna(b):
                assert a is None or pd.isna(a), (key, column)
            else:
                assert float(a) == pytest.approx(float(b), abs=1e-6), (key, column)
    assert doc["frontier"] == frontier(metrics(frame))
    assert "broken" not in [c for cs in doc["frontier"].values() for c in cs]  # all-error config has no figures
    assert doc["frontier"]["chitchat"] == ["haiku-3-5", "twin-of-haiku"]  # single real config plus its exact tie
    reference = recommendation(frame, POLICY, {"recommendation": "sonnet-3-5-v2"})
    got_rec = {intent: (r["config_id"], r["flagged"]) for intent, r in doc["recommendation"].items()}
    assert got_rec == reference


@pytest.mark.integration
def test_exact_ties_are_both_on_the_frontier(warehouse):
    frame = random_results(4)
    load(warehouse, frame)
    doc = decisions_document(warehouse, "r1")
    for intent in ("faq", "order_tracking"):
        front = doc["frontier"][intent]
        assert ("haiku-3-5" in front) == ("twin-of-haiku" in front)


@pytest.mark.integration
def test_reload_is_idempotent_and_failure_leaves_previous_rows(warehouse):
    frame = random_results(5)
    first = load(warehouse, frame)
    before = decisions_document(warehouse, "r1")
    again = load(warehouse, frame)
    assert first == again and warehouse.count_rows("eval_results", "r1") == len(frame)
    assert decisions_document(warehouse, "r1") == before
    other = random_results(6, run_id="r2")
    load(warehouse, other, run_id="r2")
    bad = frame.copy()
    bad.loc[len(bad) - 1, "run_id"] = "someone-else"  # refused mid-load, after the delete
    with pytest.raises(Exception):
        warehouse.load_run("r1", run_tables(bad, "r1", POLICY, None))
    assert warehouse.count_rows("eval_results", "r1") == len(frame)  # the failed load changed nothing
    assert warehouse.count_rows("eval_results", "r2") == len(other)


def test_identifiers_come_from_an_allow_list_and_values_are_bound():
    with pytest.raises(ValueError):
        checked_table("eval_results; DROP TABLE x")
    assert to_paramstyle("WHERE run_id = :run_id AND x::int = 1", "dollar") == "WHERE run_id = $run_id AND x::int = 1"
    assert to_paramstyle("WHERE run_id = :run_id AND p LIKE 'a%'", "pyformat") == "WHERE run_id = %(run_id)s AND p LIKE 'a%%'"


def test_an_engine_variant_replaces_a_query_file_only_where_one_exists():
    assert engine_variant("ab/ab_latency_p95.sql", "redshift") == "ab/redshift/ab_latency_p95.sql"
    assert engine_variant("ab/ab_latency_p95.sql", "portable") == "ab/ab_latency_p95.sql"
    assert engine_variant("ab/ab_request_sums.sql", "redshift") == "ab/ab_request_sums.sql"
    # the Redshift variant answers with the same columns, from parameters the caller passes
    portable, redshift = read_sql("ab/ab_latency_p95.sql"), read_sql("ab/redshift/ab_latency_p95.sql")
    for column in ("p95", "p95_low", "p95_high", "requests"):
        assert f"AS {column}" in portable and f"AS {column}" in redshift
    assert placeholders(redshift) <= {"experiment_id", "as_of", "q_low", "q_high", "fractions"}
