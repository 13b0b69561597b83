"""Issue 16 part 4: redaction, `mangaeval golden import` and `mangaeval golden review`, end to end."""

from __future__ import annotations

import json

import pytest

from mangaeval import cli
from mangaeval.golden import load_dataset, validate_path
from mangaeval.redaction import Redactor
from mangaeval.synthetic_logs import generate_log

REDACTION_TABLE = [
    # (text, keep, must be gone, must remain)
    ("Mail me at jane.doe+manga@mail.example.co.jp please", (), ["jane.doe", "example.co.jp"], ["[EMAIL]", "please"]),
    ("call 090-1234-5678 or 03-1234-5678", (), ["1234-5678"], ["[PHONE]"]),
    ("電話は０９０－１２３４－５６７８です", (), ["１２３４", "1234"], ["[PHONE]です"]),
    ("電話 09012345678 / +81 90-1234-5678 / (03)1234-5678 / 0120-123-456", (), ["12345678", "1234-5678", "123-456"], []),
    ("US: (415) 555-0134, +1 415 555 0134, 415-555-0134", (), ["555-0134", "555 0134"], []),
    ("〒150-0001 東京都渋谷区神宮前1-2-3 までお願いします", (), ["150-0001", "神宮前1-2-3"], ["までお願いします"]),
    ("大阪府大阪市北区梅田2丁目4番9号に送って", (), ["2丁目4番9号"], ["に送って"]),
    ("ship to 221 Baker Street, London", (), ["221 Baker"], ["ship to"]),
    ("1600 Pennsylvania Avenue, Washington, DC 20500", (), ["1600 Pennsylvania", "20500"], []),
    ("Hello, this is Mr. John Smith and Dr. Lee", (), ["John", "Smith", "Lee"], ["Mr. [NAME]", "Dr. [NAME]"]),
    ("田中様、佐藤 花子さん、鈴木殿、ヤマダさん", (), ["田中", "佐藤", "花子", "鈴木", "ヤマダ"], ["[NAME]様", "[NAME]さん", "[NAME]殿"]),
    ("card 4111 1111 1111 1111, 4111-1111-1111-1111, 378282246310005", (), ["4111", "378282246310005"], ["[CARD]"]),
    ("追跡番号は119444504062です / 1Z999AA10123456784", (), ["119444504062", "1Z999AA10123456784"], ["[TRACKING]です"]),
    ("my order MA-123456 and my friend's MA-654321", ("MA-123456",), ["MA-654321"], ["MA-123456", "[ORDER_ID]"]),
    ("追跡番号119444504062の荷物", ("119444504062",), [], ["119444504062"]),
    # non-personal: never touched
    ("Is かぐや様は告らせたい volume 3 ¥693? ISBN 978-4-08-946863-0 / 9784089468630 / 4088827910", (), [],
     ["かぐや様は告らせたい", "volume 3", "¥693", "978-4-08-946863-0", "9784089468630", "4088827910"]),
    ("お客様、皆様へ: One Piece 105巻 528円, vol. 12 costs $5.28, 15% off until 2026-11-15", (), [],
     ["お客様", "皆様", "One Piece", "105巻", "528円", "vol. 12", "$5.28", "15%", "2026-11-15"]),
    ("Dr. STONE fans: Spy x Family and Dandadan", (), ["STONE"], ["Spy x Family", "Dandadan"]),  # honorific rule wins
]


@pytest.mark.parametrize("text,keep,gone,remain", REDACTION_TABLE)
def test_redaction_table(text, keep, gone, remain):
    out = Redactor().redact(text, keep)
    for g in gone:
        assert g not in out, (g, out)
    for r in remain:
        assert r in out, (r, out)


def test_redaction_on_a_generated_log_meets_the_targets():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("redaction_bench", Path(__file__).parent.parent / "benchmarks" / "redaction_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    fig = bench.measure(generate_log(600, seed=7))
    assert fig["plants_removed_pct"] == 100.0, fig["misses"][:5]
    assert fig["non_personal_removed_pct"] < 1.0, fig["losses"][:5]


def write_log(path, turns, extra_rows=()):
    rows = [json.dumps(t.row, ensure_ascii=False) for t in turns] + list(extra_rows)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_import_review_new_version_end_to_end(tmp_path, capsys):
    turns = generate_log(120, seed=3)
    v0 = load_dataset("v0")
    dup = next(c for c in v0.cases if not c.history and c.language == "en")
    dup_row = dict(turns[0].row, user_text=dup.query.upper() + "!!", intent=dup.intent, lang=dup.language,
                   grounding=dup.grounding, session_id="dup", turn_index=0)
    log = tmp_path / "log.jsonl"
    write_log(log, turns, [json.dumps(dup_row, ensure_ascii=False), '{"user_text": "cut off',
                           json.dumps({"user_text": "hi", "intent": "faq"}),
                           json.dumps({"user_text": "hi", "intent": "faq", "lang": "fr"})])
    drafts = tmp_path / "drafts.jsonl"
    assert cli.main(["golden", "import", "--from", str(log), "--out", str(drafts), "--dataset", "v0",
                     "--per-stratum", "2", "--json"]) == 0
    out, err = capsys.readouterr()
    stats = json.loads(out)
    assert f"{log}:122: invalid JSON" in err and f"{log}:123: missing column 'lang'" in err
    assert f"{log}:124: unknown language 'fr'" in err
    assert stats["malformed"] == 3 and stats["exact_duplicates"] >= 1
    assert all(n <= 2 for n in stats["strata"].values()) and len(stats["strata"]) == 16  # 8 intents x 2 languages
    text = drafts.read_text(encoding="utf-8")
    for turn in turns:
        for p in turn.plants:
            assert not any(part in text for part in p.parts), p
    docs = [json.loads(line) for line in text.splitlines()]
    assert len(docs) == stats["drafts"] == 32
    for d in docs:
        assert d["source"] == "production" and "expected" not in d
        assert d["provenance"]["file"] == str(log) and isinstance(d["provenance"]["line"], int)
    assert any(d["history"] for d in docs), "later turns carry the conversation so far"
    assert cli.main(["golden", "import", "--from", str(log), "--out", str(drafts), "--dataset", "v0"]) == 2  # no overwrite
    capsys.readouterr()

    decisions = tmp_path / "decisions.jsonl"
    lines = []
    for d in docs[:3]:
        title = d["grounding"]["order"]["items"][0]["title_en"]
        lines.append({"test_id": d["test_id"], "decision": "accept", "reference_answer": f"{title} is in stock.",
                      "must_contain": [title], "must_not_contain": ["sold out"]})
    lines += [{"test_id": d["test_id"], "decision": "reject"} for d in docs[3:5]]
    decisions.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    root = tmp_path / "datasets"
    assert cli.main(["golden", "review", str(drafts), "--decisions", str(decisions), "--base", "v0",
                     "--version", "v0p", "--out", str(root)]) == 0
    assert "3 accepted, 2 rejected, 27 undecided" in capsys.readouterr().out
    assert validate_path(root / "v0p")[1] == []
    new = load_dataset(root / "v0p")
    assert len(new.cases) == len(v0.cases) + 3
    prod = [c for c in new.cases if c.source == "production"]
    assert {c.test_id for c in prod} == {d["test_id"] for d in docs[:3]}
    assert all(c.provenance["file"] == str(log) and c.must_contain for c in prod)
    manifest = json.loads((root / "v0p" / "manifest.json").read_text())
    assert manifest["base"] == "v0" and manifest["review"]["accepted"] == 3
    assert cli.main(["golden", "validate", str(root / "v0p")]) == 0
    assert cli.main(["golden", "review", str(drafts), "--decisions", str(decisions), "--base", "v0",
                     "--version", "v0p", "--out", str(root)]) == 2  # never overwritten


def test_parquet_log_and_a_custom_mapping(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    turns = generate_log(40, seed=4)
    rows = [{"q": t.row["user_text"], "label": t.row["intent"], "language": t.row["lang"]} for t in turns]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "log.parquet")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  query: q\n  intent: label\n  language: language\n", encoding="utf-8")
    out = tmp_path / "d.jsonl"
    assert cli.main(["golden", "import", "--from", str(tmp_path / "log.parquet"), "--mapping", str(mapping),
                     "--out", str(out), "--dataset", "", "--sample", "10"]) == 0
    docs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(docs) == 10 and all(d["grounding"] == {} and d["page_context"] == {} for d in docs)
    assert "@" not in out.read_text(encoding="utf-8")


def test_bad_mapping_and_bad_decisions_are_bad_input(tmp_path, capsys):
    log = tmp_path / "log.jsonl"
    write_log(log, generate_log(20, seed=5))
    bad = tmp_path / "m.yaml"
    bad.write_text("columns:\n  query: q\n  colour: c\n", encoding="utf-8")
    assert cli.main(["golden", "import", "--from", str(log), "--mapping", str(bad), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "unknown field(s) ['colour']" in err and "'columns.intent' must name a column" in err
    drafts = tmp_path / "d.jsonl"
    assert cli.main(["golden", "import", "--from", str(log), "--out", str(drafts), "--dataset", ""]) == 0
    first = json.loads(drafts.read_text(encoding="utf-8").splitlines()[0])["test_id"]
    decisions = tmp_path / "dec.jsonl"
    decisions.write_text(json.dumps({"test_id": first, "decision": "accept", "reference_answer": "Yes.",
                                     "must_contain": ["No"]}) + "\n" + json.dumps({"test_id": first, "decision": "maybe"}) + "\n"
                         + json.dumps({"test_id": "nope", "decision": "reject"}) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["golden", "review", str(drafts), "--decisions", str(decisions), "--base", "", "--version", "vq",
                     "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{decisions}:1: must_contain 'No' is not in the reference answer" in err
    assert f"{decisions}:2: 'decision' must be 'accept' or 'reject'" in err
    assert not (tmp_path / "vq").exists()


def test_interactive_review_walks_the_drafts(tmp_path):
    from mangaeval.golden_import import interactive_decisions

    drafts = [("d.jsonl:1", {"test_id": "a", "intent": "faq", "language": "en", "query": "How much is shipping?",
                             "history": [], "grounding": {}}),
              ("d.jsonl:2", {"test_id": "b", "intent": "faq", "language": "en", "query": "Hi", "history": [],
                             "grounding": {}}),
              ("d.jsonl:3", {"test_id": "c", "intent": "faq", "language": "en", "query": "Bye", "history": [],
                             "grounding": {}})]
    # accept a (first attempt invalid: must_contain not in the answer), reject b, quit before c
    answers = iter(["x", "a", "It is ¥2,000.", "¥1,500", "", "It is ¥2,000.", "¥2,000", "free", "r", "q"])
    said: list[str] = []
    got = interactive_decisions(drafts, ask=lambda _: next(answers), say=said.append)
    assert got["a"][1] == {"test_id": "a", "decision": "accept", "reference_answer": "It is ¥2,000.",
                           "must_contain": ["¥2,000"], "must_not_contain": ["free"]}
    assert got["b"][1]["decision"] == "reject" and "c" not in got
    assert any("not in the reference answer" in s for s in said)
