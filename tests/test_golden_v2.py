"""Golden dataset v2 (issue 16, parts 3 and 6a): size, languages and registers, every edge-case kind of v1, the
distinct-case and phrasing shares the validator counts, no conflicting labels, and grounding sized like production."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from mangaeval import golden_phrasing as ph
from mangaeval.golden import DEFAULT_VERSION, load_dataset, resolve_dataset_dir, validate_path
from mangaeval.golden_dedupe import analyse_path
from mangaeval.intents import intent_names
from mangaeval.text import detect_language, estimate_tokens

V1_EDGE_KINDS = {"edge:long", "edge:short", "edge:emoji_mixed", "edge:typo", "edge:unanswerable", "edge:injection", "edge:ambiguous"}
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF]")


@pytest.fixture(scope="module")
def v2():
    return load_dataset("v2")


def test_v2_is_the_default_and_validates_with_its_distinct_minimum():
    assert DEFAULT_VERSION == "v2"
    path = resolve_dataset_dir("v2")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["min_distinct_share"] == 0.95 and "--recipe v2" in manifest["generator"]
    cases, problems = validate_path(path)
    assert problems == [] and len(cases) == 1600


def test_v2_distinct_cases_phrasings_and_no_conflicts():
    report, problems = analyse_path(resolve_dataset_dir("v2"))
    assert problems == [] and report.enforced and report.problems() == [] and report.conflicts == []
    assert set(report.intents) == set(intent_names())
    for intent, st in report.intents.items():
        assert st.cases >= 200, intent
        assert st.distinct_cases >= 0.95 * st.cases, (intent, st.distinct_cases)
        assert st.distinct_queries >= 0.60 * st.cases, (intent, st.distinct_queries)


def test_v2_languages_registers_and_edge_kinds(v2):
    for intent, cases in v2.by_intent().items():
        ja = [c for c in cases if c.language == "ja"]
        assert 0.30 <= len(ja) / len(cases) <= 0.40, intent
        assert all(detect_language(c.query) == c.language for c in cases), intent  # what the double answers in
        tags = {t for c in cases for t in c.tags}
        expected = V1_EDGE_KINDS - ({"edge:ambiguous"} if intent in ("faq", "checkout_help", "promotion", "chitchat") else set())
        assert expected <= tags, (intent, expected - tags)
        assert any(t.startswith("injection:") for t in tags) and any(c.history for c in cases), intent
    queries = [c.query for c in v2.cases]
    ja = [c.query for c in v2.cases if c.language == "ja"]
    assert sum("です" in q or "ます" in q for q in ja) >= 100                     # polite Japanese
    assert sum(q.endswith(("?", "?")) and ("って" in q or "る?" in q) for q in ja) >= 50  # casual Japanese
    assert sum(bool(re.search(r"[A-Za-z]{3,}", q)) for q in ja if "MA-" not in q) >= 40   # code-switching (English titles, words)
    assert sum(bool(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", c.query)) for c in v2.cases if c.language == "en") >= 20
    assert sum(bool(_EMOJI.search(q)) for q in queries) >= 80
    assert sum("０" <= ch <= "９" for q in ja for ch in q) > 0  # Japanese typos: full-width digits


def test_v2_grounding_is_sized_like_production(v2):
    by_intent = v2.by_intent()
    faq = [c for c in by_intent["faq"] if "edge:unanswerable" not in c.tags]
    assert all(len(c.grounding["passages"]) == 5 for c in by_intent["faq"])  # five retrieved chunks, as the live bot sends
    assert all(c.grounding["passages"][0]["score"] >= 0.78 > c.grounding["passages"][1]["score"] for c in faq)
    assert all(set(p) >= {"id", "title", f"text_{c.language}", "figures", "score"} and f"text_{'en' if c.language == 'ja' else 'ja'}" not in p
               for c in faq for p in c.grounding["passages"])  # the customer's locale only
    mean = lambda cases: sum(estimate_tokens(json.dumps(c.grounding, ensure_ascii=False)) for c in cases) / len(cases)  # noqa: E731
    assert mean(by_intent["faq"]) > 1600 and mean(by_intent["recommendation"]) > 1200 and mean(by_intent["product_question"]) > 900
    assert mean(by_intent["order_tracking"]) > 400 and mean(by_intent["promotion"]) > 700
    rec = [c for c in by_intent["recommendation"] if c.grounding["candidates"]]
    assert all(len(c.grounding["candidates"]) == 11 and all(f"synopsis_{c.language}" in x for x in c.grounding["candidates"]) for c in rec)
    orders = [c.grounding["order"] for c in by_intent["order_tracking"] if c.grounding.get("order")]
    assert all(o["tracking_events"] and o["items"] for o in orders)


def test_v2_references_are_production_length_and_v1_unchanged(v2):
    mean_tokens = {i: sum(estimate_tokens(c.reference_answer) for c in cs) / len(cs) for i, cs in v2.by_intent().items()}
    v1 = {i: sum(estimate_tokens(c.reference_answer) for c in cs) / len(cs) for i, cs in load_dataset("v1").by_intent().items()}
    for intent, field_out in (("recommendation", 450), ("faq", 300), ("product_question", 200), ("order_tracking", 150), ("promotion", 250)):
        assert 0.6 * field_out <= mean_tokens[intent] <= 1.25 * field_out, (intent, mean_tokens[intent])
        assert mean_tokens[intent] > 1.5 * v1[intent], intent
    assert mean_tokens["chitchat"] < 40  # small talk stays short


def test_phrasing_falls_back_when_code_switching_would_flip_the_language():
    import random

    table = {"en_mixed": ["{title}"], "en": ["How much is {title}?"]}
    slots = {"title_en": "Sailor Moon", "title_ja": "美少女戦士セーラームーン"}
    for seed in range(20):
        text = ph.phrase(random.Random(seed), table, "en", slots, decorate=False)
        assert detect_language(text) == "en"


def test_typos_leave_titles_ids_and_focus_words_alone():
    import random

    query = "How much is Attack on Titan volume 3 from order MA-123456? Whats the price"
    protected = ["Attack on Titan", "MA-123456", "how much", "price"]
    for seed in range(30):
        typo = ph.with_typos(random.Random(seed), query, "en", protected)
        assert typo != query and "Attack on Titan" in typo and "MA-123456" in typo and "How much" in typo and "price" in typo
    assert ph.with_typos(random.Random(1), "進撃の巨人の3巻はいくらですか?", "ja", []).startswith("進撃の巨人の３巻")
