"""The double answers at production length (issue 16, part 6a): each model family at its own length, every answer
still judged right, and the sentences that explain a fact kept with it."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from mangaeval.answers import Answer, Part
from mangaeval.double import responder
from mangaeval.double.profiles import load_profiles
from mangaeval.double.styles import restyle
from mangaeval.golden import load_dataset, sample_per_intent
from mangaeval.models import load_configurations, load_model_catalog
from mangaeval.prompts import build_request
from mangaeval.scoring import Scorer

CONFIGS = load_configurations(None, load_model_catalog())
FAMILIES = ("sonnet-3-5-v2", "haiku-3-5", "nova-lite")


@pytest.fixture(scope="module")
def sample():
    return [c for c in sample_per_intent(load_dataset("v2").cases, 8, seed=5) if c.intent != "chitchat"]


def _answers(config_id: str, cases, skill: float | None = None, seed: int = 0):
    config = CONFIGS[config_id]
    profile = load_profiles()[config.model_id]
    if skill is not None:  # a model that makes no mistakes: only its length and style vary
        profile = replace(profile, skill={"default": skill})
    return [responder.respond(profile, config.model_id, build_request(config, c), seed, False) for c in cases]


def test_each_family_answers_at_its_own_length(sample):
    mean = {f: sum(r.output_tokens for r in _answers(f, sample, skill=1.0)) / len(sample) for f in FAMILIES}
    assert mean["sonnet-3-5-v2"] > 150  # production-length answers, not v1's 60-90 tokens
    assert 0.55 * mean["sonnet-3-5-v2"] < mean["haiku-3-5"] < 0.9 * mean["sonnet-3-5-v2"]
    assert 0.45 * mean["sonnet-3-5-v2"] < mean["nova-lite"] < mean["haiku-3-5"]


@pytest.mark.parametrize("family", FAMILIES)
def test_right_answers_pass_at_every_length_and_style(sample, family):
    scorer = Scorer()
    for case, reply in zip(sample, _answers(family, sample, skill=1.0)):
        score = scorer.score(case, reply.text)
        assert score.passed and score.dimensions["completeness"] == 1.0, (case.test_id, score, reply.text)


def test_trimming_keeps_every_fact():
    answer = Answer([Part("Hi.", "opening"), Part("It costs ¥528.", "fact", ["¥528"]), Part("A detail.", "detail"),
                     Part("Another.", "detail"), Part("Bye.", "closing")], "en")
    for seed in range(20):
        kinds = [p.kind for p in responder.trim_details(answer, 0.3, random.Random(seed)).parts]
        assert kinds.count("fact") == 1 and kinds[0] == "opening" and kinds[-1] == "closing"
    assert responder.trim_details(answer, 1.0, random.Random(0)) is answer


def test_reordered_facts_keep_their_details():
    answer = Answer([Part("Picks:", "opening"), Part("Naruto.", "fact"), Part("About ninjas.", "detail"), Part("Haikyu!!.", "fact"),
                     Part("About volleyball.", "detail"), Part("More?", "closing")], "en")
    texts = {restyle(answer, random.Random(seed), "recommendation") for seed in range(60)}
    swapped = [t for t in texts if t.index("Haikyu") < t.index("Naruto")]
    assert swapped and all(t.index("Haikyu") < t.index("volleyball") < t.index("Naruto") < t.index("ninjas") for t in swapped)
    assert responder._block_end(answer.parts, 1) == 3 and responder._block_end(answer.parts, 3) == 5


def test_a_recommendation_opening_only_opens_recommendations(sample):
    faq = [c for c in sample if c.intent == "faq"][:3]
    texts = [r.text for seed in range(15) for r in _answers("haiku-3-5", faq, seed=seed)]
    assert not any("browsing" in t or "閲覧履歴" in t for t in texts)
