"""Issue 16 part 1: exact and near duplicates, conflicting labels, the manifest's distinct-case minimum."""

from __future__ import annotations

import json
import random

from mangaeval import cli
from mangaeval.golden import build_manifest, read_cases, validate_path
from mangaeval.golden_dedupe import analyse_path, jaccard, ngrams, normalise, similar_pairs

BASE = {"intent": "faq", "language": "en", "page_context": {"page": "help"}, "history": [],
        "grounding": {"passages": [{"id": "p1", "text_en": "Shipping is ¥2,000."}]},
        "expected": {"must_contain": ["¥2,000"], "must_not_contain": [], "reference_answer": "It costs ¥2,000."}}


def write_dataset(folder, queries, extra=None, manifest_extra=None):
    """faq.jsonl with one case per query (line n = queries[n-1]); `extra`: {line: field overrides}."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, q in enumerate(queries, start=1):
        doc = dict(BASE, test_id=f"t-{n}", query=q, language="ja" if any(ord(c) > 0x3000 for c in q) else "en")
        doc.update((extra or {}).get(n, {}))
        rows.append(json.dumps(doc, ensure_ascii=False))
    (folder / "faq.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    cases, problems = read_cases(folder / "faq.jsonl")
    assert not problems, problems
    manifest = build_manifest(folder, folder.name, cases) | (manifest_extra or {})
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder / "faq.jsonl"


def test_normalisation_folds_width_case_punctuation_and_space():
    assert normalise("How much is  ONE PIECE vol. １０５?") == normalise("how much is one piece vol 105")
    assert normalise("ワンピース１０５巻は？") == normalise("ワンピース105巻は")
    assert normalise("ﾜﾝﾋﾟｰｽ") == normalise("ワンピース")  # half-width katakana


def test_exact_duplicates_reported_with_file_and_line(tmp_path):
    f = write_dataset(tmp_path / "vx", ["How much is international shipping?", "Where is my parcel?",
                                       "HOW MUCH is  international shipping!!", "how much is international shipping"])
    report, _ = analyse_path(tmp_path / "vx")
    lines = report.lines()
    assert f"{f}:3 = {f}:1 (exact duplicate after normalisation)" in lines
    assert f"{f}:4 = {f}:1 (exact duplicate after normalisation)" in lines
    st = report.intents["faq"]
    assert (st.cases, st.distinct_cases, st.distinct_queries) == (4, 2, 2)


def test_same_query_different_grounding_is_distinct_case_same_phrasing(tmp_path):
    write_dataset(tmp_path / "vx", ["Where is my parcel?", "Where is my parcel?"],
                  extra={2: {"grounding": {"passages": [{"id": "p2", "text_en": "Other."}]}}})
    st = analyse_path(tmp_path / "vx")[0].intents["faq"]
    assert (st.distinct_cases, st.distinct_queries) == (2, 1)


def test_near_duplicates_in_english_and_japanese(tmp_path):
    f = write_dataset(tmp_path / "vx", [
        "Do you have One Piece volume 105 in stock?", "Do you have One Piece volume 106 in stock?",
        "ワンピースの105巻は在庫ありますか", "ワンピースの105巻は在庫はありますか", "返品の送料は誰が払いますか"])
    report, _ = analyse_path(tmp_path / "vx")
    near = {(a, b): s for a, b, s in report.near}
    assert (f"{f}:1", f"{f}:2") in near and (f"{f}:3", f"{f}:4") in near
    assert all(f"{f}:5" not in pair for pair in near)
    assert any(line.startswith(f"{f}:3 ~ {f}:4 (0.") for line in report.lines())


def test_similar_pairs_matches_brute_force():
    rng = random.Random(3)
    base = ["ワンピースの新刊はいつ出ますか", "do you ship to canada", "進撃の巨人の全巻セット", "is naruto volume 12 in stock"]
    texts = sorted({normalise(rng.choice(base) + "".join(rng.choice("abあい12 ") for _ in range(rng.randint(0, 4))))
                    for _ in range(300)})
    for t in (0.5, 0.8):
        got = {(i, j) for i, j, _ in similar_pairs(texts, t)}
        want = {(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))
                if jaccard(ngrams(texts[i]), ngrams(texts[j])) >= t}
        assert got == want


def test_conflicting_labels_are_warnings_without_a_minimum_and_failures_with_one(tmp_path, capsys):
    other = {"must_contain": ["¥1,500"], "must_not_contain": [], "reference_answer": "It costs ¥1,500."}
    f = write_dataset(tmp_path / "vx", ["How much is shipping?", "Where is my parcel?", "how much is shipping"],
                      extra={3: {"expected": other}})
    report, _ = analyse_path(tmp_path / "vx")
    assert report.conflicts == [[f"{f}:1", f"{f}:3"]]
    assert validate_path(tmp_path / "vx")[1] == []  # no declared minimum: warnings only
    assert cli.main(["golden", "validate", str(tmp_path / "vx")]) == 0
    err = capsys.readouterr().err
    assert "declares no min_distinct_share" in err and f"warning: conflicting labels: {f}:1, {f}:3" in err

    f = write_dataset(tmp_path / "vy", ["How much is shipping?", "Where is my parcel?", "how much is shipping"],
                      extra={3: {"expected": other}}, manifest_extra={"min_distinct_share": 0.5})
    problems = validate_path(tmp_path / "vy")[1]
    assert any(p.startswith(f"{f}:1: conflicting labels") and f"{f}:3" in p for p in problems), problems
    assert cli.main(["golden", "validate", str(tmp_path / "vy")]) == 2


def test_declared_minimum_fails_an_intent_with_too_few_distinct_cases(tmp_path, capsys):
    qs = ["Where is my parcel?"] * 3 + ["How much is shipping?", "Can I pay with PayPay?"]
    write_dataset(tmp_path / "vx", qs, manifest_extra={"min_distinct_share": {"faq": 0.95}})
    problems = validate_path(tmp_path / "vx")[1]
    assert problems == ["intent 'faq': 3 distinct case(s) of 5, fewer than the manifest's minimum 5"]
    write_dataset(tmp_path / "vy", qs, manifest_extra={"min_distinct_share": 0.6})
    assert validate_path(tmp_path / "vy")[1] == []
    write_dataset(tmp_path / "vz", qs, manifest_extra={"min_distinct_share": "most"})
    assert any("'min_distinct_share' must be a number" in p for p in validate_path(tmp_path / "vz")[1])


def test_v1_still_validates_and_reports_its_findings_as_warnings(capsys):
    assert validate_path(cli_path := __import__("mangaeval.paths", fromlist=["GOLDEN_DIR"]).GOLDEN_DIR / "v1")[1] == []
    assert cli.main(["golden", "validate", str(cli_path)]) == 0
    out, err = capsys.readouterr()
    assert "chitchat" in out and "conflicting label groups: 3" in out
    assert "warnings, not failures" in err
    assert cli.main(["golden", "validate", str(cli_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] and doc["dedupe"]["intents"]["recommendation"]["distinct_queries"] == 24


def test_bad_threshold_is_bad_input(capsys, tmp_path):
    import pytest

    with pytest.raises(SystemExit) as exc:
        cli.main(["golden", "validate", str(tmp_path), "--near-threshold", "0"])
    assert exc.value.code == 2
