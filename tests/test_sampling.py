"""`limit` samples an intent's cases stratified by language and tags (mangaeval.golden.sample_cases), the same
way in the DAG's shards, the plan's expected row counts and `mangaeval evaluate --limit`."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from mangaeval.errors import MangaEvalError
from mangaeval.golden import DEFAULT_SAMPLE_SEED, load_dataset, sample_cases, sample_per_intent
from mangaeval.pipeline.params import ParamError, RunPlan, validate_params
from mangaeval.pipeline.shards import run_shard


@pytest.fixture(scope="module")
def v1():
    return load_dataset("v1")


def ids(cases):
    return [c.test_id for c in cases]


def test_the_first_n_would_skew_the_languages_the_sample_does_not(v1):
    faq = v1.by_intent()["faq"]
    assert Counter(c.language for c in faq[:10])["ja"] == 7  # what `limit` used to take: 70% Japanese
    share = Counter(c.language for c in faq)["ja"] / len(faq)  # 35%
    assert abs(Counter(c.language for c in sample_cases(faq, 10, 0))["ja"] - 10 * share) < 1  # 3 or 4 of 3.5


@pytest.mark.parametrize("limit", [20, 50])
def test_every_intent_keeps_its_language_share_within_one_case(v1, limit):
    for intent, cases in v1.by_intent().items():
        for seed in (0, 1, 2):
            sample = sample_cases(cases, limit, seed)
            assert len(sample) == limit and len(set(ids(sample))) == limit and {c.intent for c in sample} == {intent}
            for language, count in Counter(c.language for c in cases).items():
                expected = limit * count / len(cases)
                assert abs(Counter(c.language for c in sample)[language] - expected) < 1, (intent, seed, language)


def test_tags_are_spread_like_the_intents(v1):
    cases = v1.by_intent()["faq"]
    sample = sample_cases(cases, 50, 0)
    for tag in ("multi_turn",):
        whole = sum(tag in c.tags for c in cases) / len(cases)
        assert abs(sum(tag in c.tags for c in sample) / 50 - whole) <= 0.1
    # the large strata (language, tag set) get their share too: at least their whole part
    strata = Counter((c.language, tuple(sorted(c.tags))) for c in cases)
    picked = Counter((c.language, tuple(sorted(c.tags))) for c in sample)
    assert all(picked[s] >= 50 * n // len(cases) for s, n in strata.items())


def test_deterministic_for_a_seed_and_different_for_another(v1):
    cases = v1.by_intent()["recommendation"]
    assert ids(sample_cases(cases, 20, 7)) == ids(sample_cases(list(cases), 20, 7))
    assert ids(sample_cases(cases, 20, 7)) != ids(sample_cases(cases, 20, 8))
    assert len({tuple(ids(sample_cases(cases, 20, seed))) for seed in range(10)}) == 10
    sample = sample_cases(cases, 20, 7)
    assert ids(sample) == [c.test_id for c in cases if c in sample]  # in dataset order


def test_the_seed_is_the_same_in_another_process(v1):
    import subprocess
    import sys

    code = "from mangaeval.golden import load_dataset, sample_cases; import json; " \
           "print(json.dumps([c.test_id for c in sample_cases(load_dataset('v1').by_intent()['faq'], 20, 3)]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "123",
                         **__import__("os").environ}).stdout
    assert json.loads(out) == ids(sample_cases(v1.by_intent()["faq"], 20, 3))


def test_a_limit_at_or_over_the_size_is_every_case_in_dataset_order(v1):
    cases = v1.by_intent()["chitchat"]
    for limit in (len(cases), len(cases) + 1, None):
        assert ids(sample_cases(cases, limit, 5)) == ids(cases)
    assert sample_cases([], 3, 0) == []


@pytest.mark.parametrize("seed", ["1", 1.5, True, None, [1]])
def test_a_bad_seed_is_rejected_with_what_a_seed_is(v1, seed):
    with pytest.raises(MangaEvalError, match=r"'sample_seed' must be a whole number \(the same seed picks the same cases\), got"):
        sample_cases(v1.cases[:10], 5, seed)


@pytest.mark.parametrize("limit", [0, -1, 2.5, "3"])
def test_a_bad_limit_is_rejected(v1, limit):
    with pytest.raises(MangaEvalError, match="positive number of cases per intent"):
        sample_cases(v1.cases[:10], limit, 0)


def test_sample_per_intent_samples_each_intent_on_its_own(v1):
    sample = sample_per_intent(v1.cases, 20, 0)
    assert Counter(c.intent for c in sample) == {i: 20 for i in v1.by_intent()}
    assert ids(sample) == [i for intent, cases in v1.by_intent().items() for i in ids(sample_cases(cases, 20, 0))]
    assert ids(sample_per_intent(v1.cases, None, 0)) == ids(v1.cases)


# --- the DAG's trigger parameter and where the limit is applied ---------------------------------------------

def test_sample_seed_param_flows_into_the_plan():
    plan = validate_params({"limit": 5, "sample_seed": 42})
    assert plan.sample_seed == 42 and validate_params({}).sample_seed == DEFAULT_SAMPLE_SEED
    doc = plan.to_dict()
    assert doc["sample_seed"] == 42 and json.loads(json.dumps(doc)) == doc and RunPlan.from_dict(doc) == plan
    old = {k: v for k, v in doc.items() if k != "sample_seed"}  # a plan written before the parameter existed
    assert RunPlan.from_dict(old).sample_seed == DEFAULT_SAMPLE_SEED


@pytest.mark.parametrize("seed", ["7", 1.5, True, None])
def test_a_bad_sample_seed_param_is_named(seed):
    with pytest.raises(ParamError) as err:
        validate_params({"limit": 5, "sample_seed": seed, "limit_": 1})
    assert any(p.startswith("'sample_seed' must be a whole number") for p in err.value.problems)
    assert len(err.value.problems) == 2  # and the other problem too: every problem at once


def test_plan_expected_rows_are_the_rows_each_shard_evaluates(monkeypatch, tmp_path):
    """plan_run counts and run_shard evaluates the same sample: the gate's row-count expectation holds."""
    from mangaeval.golden import DEFAULT_VERSION
    from mangaeval.pipeline import steps

    default = load_dataset(DEFAULT_VERSION)  # what a plan without `dataset_version` evaluates
    from mangaeval.pipeline import shards as shards_module

    doc = steps.plan_run({"configs": ["haiku-3-5"], "intents": ["faq", "promotion"], "limit": 7, "sample_seed": 3})
    assert doc["expected_rows"] == {"faq": 7, "promotion": 7} and doc["sample_seed"] == 3
    evaluated = {}

    class Engine:
        def __init__(self, *args, **kwargs):
            pass

        def evaluate(self, configs, cases, **kwargs):
            evaluated[cases[0].intent] = ids(cases)
            raise RuntimeError("stop before calling a model")

    monkeypatch.setattr("mangaeval.engine.EvaluationEngine", Engine)
    plan = RunPlan.from_dict(doc)
    for shard in shards_module.plan_shards(plan):
        with pytest.raises(RuntimeError, match="stop before"):
            run_shard(shard, plan, "r", str(tmp_path), "http://127.0.0.1:9", tmp_path)
    for intent, rows in doc["expected_rows"].items():
        assert evaluated[intent] == ids(sample_cases(default.by_intent()[intent], 7, 3)) and len(evaluated[intent]) == rows
