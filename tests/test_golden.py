"""Golden-case format, loader validation and the manifest."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from mangaeval import golden_generator
from mangaeval.golden import load_dataset, validate_path
from mangaeval.intents import intent_names
from mangaeval.store import isbn13, isbn13_is_valid, catalog
from tests.conftest import ROOT


def test_starter_set_meets_the_brief(starter):
    counts = Counter(c.intent for c in starter.cases)
    assert set(counts) == set(intent_names())
    assert min(counts.values()) >= 25
    for intent in intent_names():
        languages = {c.language for c in starter.cases if c.intent == intent}
        assert languages == {"en", "ja"}
    assert any(c.history for c in starter.cases), "some cases are multi-turn"
    for case in starter.cases:
        for needed in case.must_contain:
            assert needed in case.reference_answer, case.test_id


@pytest.mark.parametrize("version, flags", [("v1", ["--edge-cases"]), ("v2", ["--edge-cases", "--recipe", "v2"])])
def test_generator_reproduces_the_datasets(tmp_path, version, flags):
    # v0 is a frozen artifact of the generator as it was then (its manifest pins its bytes); v1 and v2 regenerate.
    out = tmp_path / version
    golden_generator.main(["--version", version, "--per-intent", "200", *flags, "--out", str(out)])
    shipped = ROOT / "include" / "golden_datasets" / version
    for path in shipped.iterdir():
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name
    assert json.loads((shipped / "manifest.json").read_text())["generator"].endswith(" ".join(flags))


def test_isbns_are_valid():
    for series in list(catalog().values())[:10]:
        assert isbn13_is_valid(isbn13(series, 1)) and isbn13_is_valid(isbn13(series, series.volumes))


def bad_file(tmp_path, starter):
    good = json.dumps(starter.cases[0].to_json(), ensure_ascii=False)
    case = starter.cases[0].to_json()
    lines = [
        good,
        "{not json",
        json.dumps({k: v for k, v in case.items() if k != "query"} | {"test_id": "t-missing"}),
        json.dumps(case | {"test_id": "t-intent", "intent": "weather"}),
        good,  # duplicate test id
        json.dumps(case | {"test_id": "t-type", "history": "hello"}),
        json.dumps(case | {"test_id": "t-expected", "expected": {"must_contain": "x", "must_not_contain": [], "reference_answer": "r"}}),
    ]
    path = tmp_path / f"{starter.cases[0].intent}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_problem_reported_in_one_pass_with_file_and_line(tmp_path, starter):
    path = bad_file(tmp_path, starter)
    cases, problems = validate_path(path)
    assert len(cases) == 1
    text = "\n".join(problems)
    assert f"{path}:2: invalid JSON" in text
    assert f"{path}:3: missing field 'query'" in text
    assert f"{path}:4: unknown intent 'weather'" in text
    assert f"{path}:5: duplicate test_id '{starter.cases[0].test_id}' (first at {path}:1)" in text
    assert f"{path}:6: field 'history' must be array, got str" in text
    assert f"{path}:7: field 'expected.must_contain' must be array, got str" in text


def test_cli_validate_exits_non_zero_and_prints_locations(tmp_path, starter):
    path = bad_file(tmp_path, starter)
    proc = subprocess.run([sys.executable, "-m", "mangaeval.cli", "golden", "validate", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"{path}:2:" in proc.stderr and f"{path}:6:" in proc.stderr
    ok = subprocess.run([sys.executable, "-m", "mangaeval.cli", "golden", "validate", str(starter.path), "--json"], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["cases"] == len(starter.cases)


def test_changed_file_with_unchanged_version_fails(tmp_path, starter):
    copy = tmp_path / "v0"
    shutil.copytree(starter.path, copy)
    faq = copy / "faq.jsonl"
    faq.write_text(faq.read_text(encoding="utf-8").replace("¥800", "¥900"), encoding="utf-8")
    _, problems = validate_path(copy)
    assert any("faq.jsonl: content changed but the dataset version 'v0' did not" in p for p in problems)


def test_version_must_match_folder(tmp_path, starter):
    copy = tmp_path / "v7"
    shutil.copytree(starter.path, copy)
    _, problems = validate_path(copy)
    assert any("version 'v0' does not match the folder name 'v7'" in p for p in problems)


def test_load_dataset_accepts_version_name():
    assert load_dataset("v0").version == "v0"


def test_v1_size_languages_and_edge_cases():
    dataset = load_dataset("v1")
    by_intent = dataset.by_intent()
    assert set(by_intent) == set(intent_names())
    for intent, cases in by_intent.items():
        assert len(cases) >= 200, intent
        assert sum(c.language == "ja" for c in cases) / len(cases) >= 0.30, intent
        edges = {t for c in cases for t in c.tags if t.startswith("edge:")}
        assert {"edge:long", "edge:short", "edge:typo", "edge:unanswerable", "edge:injection", "edge:emoji_mixed"} <= edges, intent
        assert intent == "chitchat" or any(c.history for c in cases), intent  # small talk is single-turn
        assert any(t.startswith("injection:") for c in cases for t in c.tags), intent
    manifest = json.loads((dataset.path / "manifest.json").read_text())
    assert manifest["version"] == "v1" and manifest["total_cases"] == len(dataset.cases)
    assert all(set(entry["languages"]) == {"en", "ja"} and len(entry["sha256"]) == 64 for entry in manifest["files"].values())


def test_v1_references_refuse_injections_and_say_when_they_cannot_answer():
    for case in load_dataset("v1").cases:
        if "edge:injection" in case.tags:
            assert case.must_not_contain, case.test_id
            assert not any(m in case.reference_answer for m in case.must_not_contain), case.test_id
        if "edge:unanswerable" in case.tags:
            assert case.must_contain, case.test_id
