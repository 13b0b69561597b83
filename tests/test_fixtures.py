"""The fixture library: prompt hash, format and validation, the shipped v1, the recipe, and the CLI (list, show,
validate, record)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from mangaeval.cli import main
from mangaeval.double.admin import converse_error_codes
from mangaeval.engine.cache import cache_key
from mangaeval.errors import ConfigError
from mangaeval.fixtures.library import KINDS, STOP_REASONS, is_secret_header, load_library, sanitize_headers, validate_library
from mangaeval.intents import load_intents
from mangaeval.request_hash import prompt_hash

ROOT = Path(__file__).resolve().parent.parent
V1 = ROOT / "include" / "fixtures" / "v1"
REQUEST = {"system": [{"text": "Intent: faq"}], "messages": [{"role": "user", "content": [{"text": "海外発送はできますか?"}]}],
           "inferenceConfig": {"maxTokens": 800, "temperature": 0.3}}


def test_prompt_hash_is_defined_once_on_the_canonical_json():
    expected = hashlib.sha256(json.dumps({"inferenceConfig": REQUEST["inferenceConfig"], "messages": REQUEST["messages"],
                                          "system": REQUEST["system"]}, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    assert prompt_hash(REQUEST) == expected
    assert prompt_hash(dict(reversed(list(REQUEST.items())))) == expected  # key order does not matter
    assert prompt_hash({**REQUEST, "toolConfig": {"tools": []}}) == expected  # only messages, system, inferenceConfig
    assert prompt_hash({**REQUEST, "inferenceConfig": {"maxTokens": 801, "temperature": 0.3}}) != expected
    assert prompt_hash({"messages": REQUEST["messages"]}) == prompt_hash({"messages": REQUEST["messages"], "system": [], "inferenceConfig": {}})
    # The response cache's key is still what it was (same canonical JSON): existing caches stay valid.
    old_key = hashlib.sha256(json.dumps({"model_id": "m", "request": REQUEST}, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    assert cache_key("m", REQUEST) == old_key


def test_sanitize_headers_drops_credentials_and_signatures():
    headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1/bedrock/aws4_request, Signature=abc",
               "X-Amz-Date": "20261202T000000Z", "X-Amz-Security-Token": "tok", "x-amz-content-sha256": "e3b0",
               "amz-sdk-invocation-id": "uuid", "Cookie": "a=b", "Content-Type": "application/json", "x-amzn-RequestId": "r-1"}
    assert sanitize_headers(headers) == {"Content-Type": "application/json", "x-amzn-RequestId": "r-1"}
    assert is_secret_header("AUTHORIZATION") and not is_secret_header("x-amzn-ErrorType")


def test_shipped_library_v1_validates_and_covers_what_the_design_asks():
    library, problems = validate_library("v1")
    assert problems == [] and library.version == "v1" and len(library.fixtures) >= 60
    manifest = json.loads((V1 / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["total_fixtures"] == len(library.fixtures) and "sha256" in manifest["prompt_hash"]
    assert set(manifest["files"]) == {"golden.jsonl", "edge_cases.jsonl", "japanese.jsonl", "errors.jsonl"}
    by_kind = {kind: [f for f in library.fixtures if f.kind == kind] for kind in KINDS}
    # golden: every intent in both languages; every answer has model, prompt hash, text, usage, latency, stop reason
    assert {(f.intent, f.language) for f in by_kind["golden"]} == {(i, lang) for i in load_intents() for lang in ("en", "ja")}
    for f in library.fixtures:
        assert f.model_id and len(f.prompt_hash) == 64 and f.invoke_id
        if f.ok:
            assert isinstance(f.text, str) and f.usage["totalTokens"] == f.usage["inputTokens"] + f.usage["outputTokens"]
            assert f.latency_ms >= 0 and f.stop_reason in STOP_REASONS
        else:
            assert converse_error_codes()[f.error["code"]][0] == f.status  # the status botocore's model gives the code
    edge = {f.id.split("/")[0]: f for f in by_kind["edge"]}
    assert edge["empty-answer"].text == "" and edge["whitespace-answer"].text.strip() == ""
    assert edge["overflow"].stop_reason == "max_tokens" and edge["overflow"].usage["outputTokens"] == 24
    assert any(ord(ch) > 0xFFFF for ch in edge["unicode-answer"].text) and "\u200d" in edge["unicode-answer"].text
    assert all(f.language == "ja" for f in by_kind["japanese"]) and any("進撃の巨人" in json.dumps(f.request, ensure_ascii=False)
                                                                        for f in by_kind["japanese"])
    outcomes = {f.outcome for f in by_kind["error"]}
    assert {"ThrottlingException", "ModelTimeoutException", "InternalServerException", "content_filtered",
            "guardrail_intervened"} <= outcomes
    for path in V1.iterdir():  # no credentials or signatures anywhere in the library
        text = path.read_text(encoding="utf-8").lower()
        assert "authorization" not in text and "x-amz-" not in text and "signature=" not in text, path


def _copy_v1(tmp_path: Path) -> Path:
    folder = tmp_path / "v1"
    shutil.copytree(V1, folder)
    return folder


def _rewrite_line(path: Path, index: int, change) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    doc = json.loads(lines[index])
    change(doc)
    lines[index] = json.dumps(doc, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_validation_names_file_line_and_what(tmp_path):
    folder = _copy_v1(tmp_path)
    golden, edge, errors = folder / "golden.jsonl", folder / "edge_cases.jsonl", folder / "errors.jsonl"
    _rewrite_line(golden, 0, lambda d: d["request"]["messages"][0]["content"][0].update(text="edited by hand"))
    _rewrite_line(golden, 1, lambda d: d.update(text=None))
    _rewrite_line(golden, 2, lambda d: d["source"]["request_headers"].update({"Authorization": "AWS4-HMAC-SHA256 x"}))
    _rewrite_line(edge, 0, lambda d: d.update(id=json.loads(golden.read_text(encoding="utf-8").splitlines()[3])["id"]))
    _rewrite_line(errors, 0, lambda d: d.update(usage={"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}))
    with golden.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    _, problems = validate_library(folder)
    text = "\n".join(problems)
    assert f"{golden}:1: 'prompt_hash' does not match its request" in text
    assert f"{golden}:2: 'text' must be a string" in text
    assert f"{golden}:3: 'source.request_headers' carries credential or signature header(s) ['Authorization']" in text
    assert f"{golden}:33: invalid JSON" in text
    assert f"{errors}:1: 'usage' must be null on an error" in text
    assert "duplicate fixture id" in text and f"{edge}:1" in text
    assert f"{golden}: content changed but the manifest's checksum did not" in text
    with pytest.raises(Exception, match="problem"):
        load_library(folder)


def test_same_prompt_for_one_model_in_two_fixtures_is_refused(tmp_path):
    folder = _copy_v1(tmp_path)
    golden = folder / "golden.jsonl"
    first = json.loads(golden.read_text(encoding="utf-8").splitlines()[0])
    _rewrite_line(golden, 1, lambda d: d.update(request=first["request"], prompt_hash=first["prompt_hash"], model_id=first["model_id"]))
    _, problems = validate_library(folder)
    assert any(f"{golden}:2: '" in p and "same prompt as" in p and "could not tell them apart" in p for p in problems)


def test_cli_list_show_validate(capsys):
    assert main(["fixtures", "list", "--kind", "error"]) == 0
    out = capsys.readouterr().out
    assert "429 ThrottlingException" in out and "guardrail_intervened" in out
    assert out.splitlines()[-1].startswith("13 of 72 fixture(s)")
    assert main(["fixtures", "list", "--json", "--intent", "faq"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["intent"] == "faq" for r in rows)
    library = load_library("v1")
    empty = next(f for f in library.fixtures if f.id.startswith("empty-answer/"))
    assert main(["fixtures", "show", empty.id]) == 0
    out = capsys.readouterr().out
    assert "(empty)" in out and empty.prompt_hash in out and "prompt override" in out
    unique = next(f for f in library.fixtures if sum(g.prompt_hash.startswith(f.prompt_hash[:10]) for g in library.fixtures) == 1)
    assert main(["fixtures", "show", unique.prompt_hash[:10], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == unique.id
    assert main(["fixtures", "show", "no/such/fixture"]) == 2
    assert "no fixture with this id or prompt hash" in capsys.readouterr().err
    assert main(["fixtures", "validate"]) == 0
    assert "0 problem(s)" in capsys.readouterr().out


def test_cli_bad_input_exits_2_with_a_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")  # no look-up of instance credentials
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    folder = _copy_v1(tmp_path)
    with (folder / "golden.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("[]\n")
    assert main(["fixtures", "list", str(folder)]) == 2
    assert f"{folder / 'golden.jsonl'}:33: expected a JSON object" in capsys.readouterr().err
    assert main(["fixtures", "validate", str(folder)]) == 2
    assert main(["fixtures", "list", str(tmp_path / "missing")]) == 2
    assert "no such fixture folder" in capsys.readouterr().err
    base = ["fixtures", "record", "--endpoint-url", "http://127.0.0.1:9", "--out", str(tmp_path / "rec")]
    for argv, says in ((["--configs", "haiku-3-5", "--cases", "faq-en-0007", "--file", "../x.jsonl"], "a plain NAME.jsonl"),
                       (["--configs", "haiku-3-5"], "nothing to record"),
                       (["--configs", "haiku-3-5", "--cases", "faq-en-9999"], "unknown test id"),
                       (["--configs", "custom-sagemaker", "--cases", "faq-en-0007"], "SageMaker InvokeEndpoint"),
                       (["--configs", "no-such-config", "--cases", "faq-en-0007"], "no-such-config"),
                       (["--configs", "haiku-3-5", "--cases", "faq-en-0007", "--attempts", "1"], "nothing recorded")):  # port 9: refused
        assert main(base + argv) == 2, argv
        assert says in capsys.readouterr().err, argv
    assert not (tmp_path / "rec").exists()  # nothing half-written


def test_recipe_problems_are_listed_before_anything_starts(tmp_path):
    from mangaeval.fixtures.build import build_library, load_recipe
    from mangaeval.models import load_configurations, load_model_catalog

    catalog = load_model_catalog()
    configs = load_configurations(catalog=catalog)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("""
version: v9
files:
  a.jsonl:
    kind: golden
    entries:
      - {configs: [nope], cases: [faq-en-0007]}
      - {configs: [haiku-3-5], cases: [faq-en-9999], fault: {code: SlowDown}}
      - {configs: [haiku-3-5], standard: [bench-std-01], fault: {code: ThrottlingException}, profile: {guardrail_rate: 2}}
      - {configs: [haiku-3-5], cases: [faq-en-0007], colour: red}
  b.txt: {kind: weird, entries: []}
""", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_recipe(recipe, configs, catalog)
    text = str(raised.value)
    for says in ("entries[0]: unknown configuration 'nope'", "entries[1]: unknown golden case 'faq-en-9999'",
                 "entries[1]: 'fault' must be {code, count}", "entries[2]: profile: guardrail_rate must be in [0, 1]",
                 "entries[2]: give at most one of fault, profile and respond", "entries[3]: unknown field 'colour'",
                 "files.b.txt: a fixture file is named NAME.jsonl", "files.b.txt: must be {kind"):
        assert says in text, says
    good = load_recipe(ROOT / "include" / "fixtures" / "library.yaml", configs, catalog)
    with pytest.raises(Exception, match="already exists"):
        build_library(good, V1, catalog)
    assert good.calls == 71  # 72 fixtures: the throttled-then-answered call left two exchanges
