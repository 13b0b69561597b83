"""The double answers in a range of styles (issue 14, point 6), drawn from a stream of their own."""

from __future__ import annotations

import random
from collections import Counter

from mangaeval.answers import Answer, Part, compose
from mangaeval.double import responder
from mangaeval.double.profiles import load_profiles
from mangaeval.double.styles import EXTRA, restyle
from mangaeval.golden import load_dataset
from mangaeval.models import load_configurations, load_model_catalog
from mangaeval.prompts import build_request
from mangaeval.robustness import phrasing

CASES = load_dataset("v1").cases
CONFIG = load_configurations(None, load_model_catalog())["sonnet-3-5-v2"]
PROFILE = load_profiles()[CONFIG.model_id]


def _answers(cases):
    return [responder.respond(PROFILE, CONFIG.model_id, build_request(CONFIG, c), 0, False).text for c in cases]


def test_the_double_answers_in_many_styles():
    texts = _answers([c for c in CASES if c.intent != "chitchat"][::3])
    seen = Counter()
    for t in texts:
        seen["bullets"] += any(line.startswith(("- ", "* ", "• ")) for line in t.splitlines())
        seen["numbered"] += t.startswith("1. ") or "\n1. " in t
        seen["bold"] += "**" in t
        seen["paragraphs"] += "\n\n" in t
        seen["yen_en"] += " yen" in t
        seen["en_symbol"] += "¥" in t
        seen["円"] += "円" in t
        seen["keigo"] += "でございます" in t or "くださいませ" in t
        seen["casual"] += "だよ。" in t or "ますね。" in t
        seen["extra"] += any(e in t for lang in EXTRA.values() for e in lang)
        seen["plain"] += "\n" not in t
    assert all(seen[k] >= 3 for k in seen), seen
    assert seen["plain"] < 0.6 * len(texts)  # no single style dominates


def test_styles_are_deterministic_per_request():
    cases = CASES[::50]
    assert _answers(cases) == _answers(cases)


def test_style_draws_leave_the_quality_draws_alone(monkeypatch):
    """Restyling changes the form, never the facts: the same figures (in canonical form) as the plain answer."""
    from mangaeval.scoring.claims import figures_in
    from mangaeval.scoring.normalise import canonical

    cases = CASES[::8]
    styled = _answers(cases)
    monkeypatch.setattr(responder, "restyle", lambda answer, rng, intent: answer.text)
    plain = _answers(cases)
    assert sum(a != b for a, b in zip(styled, plain)) > len(cases) // 3
    for a, b in zip(styled, plain):
        assert sorted(figures_in(canonical(a, fold=False))) == sorted(figures_in(canonical(b, fold=False)))


def test_styles_keep_every_fact():
    case = next(c for c in CASES if c.intent == "product_question" and c.language == "ja" and "¥" in c.reference_answer)
    answer = compose(case.intent, case.language, case.query, case.grounding)
    price = next(v for p in answer.parts for v in p.values if v.startswith("¥"))
    digits = price[1:].replace(",", "")
    for seed in range(30):
        text = restyle(answer, random.Random(seed), case.intent)
        assert digits in text.replace(",", "")


def test_empty_answers_stay_empty_and_chitchat_stays_short():
    assert restyle(Answer([], "en"), random.Random(1), "faq") == ""
    hello = Answer([Part("Hello! How can I help you today?", "opening")], "en")
    assert all("\n" not in restyle(hello, random.Random(s), "chitchat") for s in range(20))


def test_the_double_does_not_borrow_the_robustness_sets_wordings():
    """The robustness set must stay independent of the double: none of its sentences is one the double writes."""
    robustness = set()
    for block in (phrasing.EXTRA, *phrasing.CHITCHAT.values()):
        for lang in ("en", "ja"):
            robustness.update(block.get(lang, []))
    for policy in phrasing.POLICIES.values():
        for lang in ("en", "ja"):
            robustness.update(s for s in policy[lang] if "{" not in s)
    ours = {e for lang in EXTRA.values() for e in lang} | {f for lang in responder.FILLER.values() for f in lang}
    assert not ours & robustness
