"""The double serving fixtures, its forced-fault queue, per-prompt overrides and usage report, through real boto3;
recording from the double and serving the recording back."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from mangaeval.bedrock import BedrockClient, ClientSettings
from mangaeval.double.admin import converse_error_codes
from mangaeval.double.fixtures import FIXTURE_NOT_FOUND
from mangaeval.double.responder import FAULTS
from mangaeval.fixtures.library import load_library, write_library
from mangaeval.fixtures.record import Target, record
from mangaeval.golden import load_dataset
from mangaeval.models import load_configurations, load_model_catalog
from mangaeval.prompts import build_request
from mangaeval.request_hash import prompt_hash
from tests.conftest import double_stats, running_double

pytestmark = pytest.mark.integration
SONNET = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
HAIKU_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
NO_FAULTS = dict(throttle_rate=0, timeout_rate=0, unavailable_rate=0, model_error_rate=0, internal_error_rate=0)
ACCESS_KEY, SESSION_TOKEN = "AKIDFIXTURERECORD01", "FwoGZXIvYXdzEFIXTURESESSIONTOKEN0123456789"
CASES = ["faq-en-0007", "product_question-ja-0000", "order_tracking-en-0009", "chitchat-ja-0000"]


def raw_client(url: str, **credentials: str):
    return boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=credentials.get("key", "test"), aws_secret_access_key="test-secret-key-value",
                        aws_session_token=credentials.get("token"), config=boto3.session.Config(retries={"total_max_attempts": 1}))


def admin(url: str, method: str, path: str, doc=None) -> tuple[int, dict]:
    data = None if doc is None else json.dumps(doc).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def world():
    catalog = load_model_catalog()
    configs = load_configurations(catalog=catalog)
    cases = {c.test_id: c for c in load_dataset("v1").cases}
    return catalog, configs, cases


@pytest.fixture(scope="module")
def recorded(world, tmp_path_factory):
    """Four cases x two configurations recorded from a double (seed 3) with signed requests carrying a session token;
    the sonnet call of order_tracking-en-0009 is throttled once first (a recorded sequence)."""
    catalog, configs, cases = world
    folder = tmp_path_factory.mktemp("recorded") / "rec"
    sent_headers: list[dict] = []
    with running_double(seed=3, **NO_FAULTS) as double:
        boto = raw_client(double.url, key=ACCESS_KEY, token=SESSION_TOKEN)
        boto.meta.events.register("before-send.bedrock-runtime.Converse", lambda request, **_: sent_headers.append(dict(request.headers)))
        client = BedrockClient(ClientSettings(endpoint_url=double.url), sleep=lambda s: None, boto_client=boto)
        targets = [Target(configs[cid], cases[tid], {"dataset": "v1", "test_id": tid}) for cid in ("sonnet-3-5-v2", "haiku-3-5")
                   for tid in CASES]

        def throttle_once(target: Target) -> None:
            if target.config.id == "sonnet-3-5-v2" and target.case.test_id == "order_tracking-en-0009":
                assert admin(double.url, "POST", "/_double/fault-queue", {"model_id": SONNET, "count": 1, "code": "ThrottlingException"})[0] == 200

        recording = record(client, catalog, targets, recorded_from="model-double", double_seed=3, before_each=throttle_once)
    write_library(folder, {"recorded.jsonl": recording.fixtures}, "test")
    return folder, recording, sent_headers, targets


def test_recording_carries_no_credentials_or_signatures(recorded):
    folder, recording, sent_headers, _ = recorded
    # The requests really were signed with the key and session token: there was something to strip.
    assert all("Authorization" in h and "X-Amz-Security-Token" in h and "X-Amz-Date" in h for h in sent_headers)
    assert any(ACCESS_KEY in str(h["Authorization"]) for h in sent_headers)
    for path in folder.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "authorization" not in text.lower() and "x-amz-" not in text.lower() and "amz-sdk-" not in text.lower(), path
        assert ACCESS_KEY not in text and SESSION_TOKEN not in text and "Signature=" not in text, path
    fixture = recording.fixtures[0]
    assert fixture.source["request_headers"]["Content-Type"] == "application/json"
    assert fixture.source["response_headers"]["x-amzn-RequestId"]
    assert fixture.source["endpoint"].startswith("http://127.0.0.1:") and fixture.source["recorded_from"] == "model-double"


def test_recording_holds_every_attempt_as_a_sequence(recorded):
    _, recording, _, targets = recorded
    assert len(recording.fixtures) == len(targets) + 1
    first, second = [f for f in recording.fixtures if "order_tracking-en-0009" in f.id and f.config_id == "sonnet-3-5-v2"]
    assert (first.id.endswith("@1"), first.status, first.error["code"], first.attempt) == (True, 429, "ThrottlingException", 1)
    assert (second.id.endswith("@2"), second.status, second.stop_reason, second.attempt) == (True, 200, "end_turn", 2)
    assert first.prompt_hash == second.prompt_hash == prompt_hash(build_request(targets[2].config, targets[2].case))


def test_served_recording_gives_identical_answers(recorded, world):
    """A double with another seed that refuses unknown prompts answers each recorded prompt exactly as recorded."""
    folder, recording, _, targets = recorded
    catalog = world[0]
    final = {f.id.split("@")[0]: f for f in recording.fixtures if f.ok}
    with running_double(seed=99, **NO_FAULTS) as generator_only:  # the same requests, generated with another seed
        other = BedrockClient(ClientSettings(endpoint_url=generator_only.url), sleep=lambda s: None)
        generated = [other.converse(catalog[t.config.model_id].invoke_id, build_request(t.config, t.case)) for t in targets]
    from mangaeval.double.profiles import load_profiles
    from mangaeval.double.server import DoubleInThread

    with DoubleInThread(seed=99, time_scale=0.0, profiles=load_profiles(overrides=NO_FAULTS), fixtures=folder, fixtures_miss="refuse") as double:
        client = BedrockClient(ClientSettings(endpoint_url=double.url), sleep=lambda s: None)
        served = [client.converse(catalog[t.config.model_id].invoke_id, build_request(t.config, t.case)) for t in targets]
        streamed = client.converse(catalog[targets[0].config.model_id].invoke_id, build_request(targets[0].config, targets[0].case), stream=True)
        stats = double_stats(double.url)
    differs = 0
    for target, answer, fresh in zip(targets, served, generated):
        fixture = final[f"recorded/{target.config.id}/{target.case.test_id}"]
        assert answer.status == "ok", answer
        assert (answer.text, answer.input_tokens, answer.output_tokens, answer.latency_ms, answer.stop_reason) == (
            fixture.text, fixture.usage["inputTokens"], fixture.usage["outputTokens"], fixture.latency_ms, fixture.stop_reason)
        differs += (fresh.text, fresh.latency_ms) != (answer.text, answer.latency_ms)
    assert differs > 0  # seed 99 would have answered otherwise: these answers came from the fixtures
    # The recorded throttle is served again first: the retrying client needed two attempts, as when it was recorded.
    assert served[2].attempts == 2 and all(a.attempts == 1 for i, a in enumerate(served) if i != 2)
    assert streamed.text == served[0].text and streamed.stop_reason == served[0].stop_reason
    assert stats["scripted"]["fixtures"]["misses"] == 0 and stats["scripted"]["fixtures"]["served"] == len(targets) + 2


def test_fixture_not_found_refused_or_generated(recorded, world):
    folder, _, _, _ = recorded
    _, configs, cases = world
    request = build_request(configs["haiku-3-5"], cases["promotion-ja-0000"])  # never recorded
    from mangaeval.double.profiles import load_profiles
    from mangaeval.double.server import DoubleInThread

    with DoubleInThread(time_scale=0.0, profiles=load_profiles(overrides=NO_FAULTS), fixtures=folder, fixtures_miss="refuse") as double:
        with pytest.raises(ClientError) as raised:
            raw_client(double.url).converse(modelId=HAIKU, **request)
        error = raised.value.response
        assert error["Error"]["Code"] == FIXTURE_NOT_FOUND and error["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert prompt_hash(request) in error["Error"]["Message"] and "--fixtures-miss generate" in error["Error"]["Message"]
        result = BedrockClient(ClientSettings(endpoint_url=double.url), sleep=lambda s: None).converse(HAIKU, request)
        assert (result.status, result.error_code, result.attempts) == ("error", FIXTURE_NOT_FOUND, 1)  # not retried
    with DoubleInThread(time_scale=0.0, profiles=load_profiles(overrides=NO_FAULTS), fixtures=folder, fixtures_miss="generate") as double:
        answer = raw_client(double.url).converse(modelId=HAIKU, **request)
        assert answer["output"]["message"]["content"][0]["text"] and answer["stopReason"] == "end_turn"
        assert double_stats(double.url)["scripted"]["fixtures"]["misses"] == 1


def test_forced_error_queue_through_boto3(world):
    _, configs, cases = world
    request = build_request(configs["haiku-3-5"], cases["faq-en-0007"])
    with running_double(**NO_FAULTS) as double:
        client = raw_client(double.url)
        status, body = admin(double.url, "POST", "/_double/fault-queue", {"model_id": HAIKU, "count": 2, "code": "ThrottlingException"})
        assert status == 200 and body["queue"] == [{"model_id": HAIKU_MODEL, "count": 2, "code": "ThrottlingException", "status": 429,
                                                    "message": dict((f[2], f[3]) for f in FAULTS)["ThrottlingException"]}]
        for _ in range(2):
            with pytest.raises(client.exceptions.ThrottlingException) as raised:
                client.converse(modelId=HAIKU, **request)
            assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert client.converse(modelId=HAIKU, **request)["stopReason"] == "end_turn"  # the third call is not forced
        # Every error code Converse declares, with botocore's status: botocore raises its modelled exception class.
        for code, (http_status, _) in converse_error_codes().items():
            assert admin(double.url, "POST", "/_double/fault-queue", {"model_id": "*", "code": code})[0] == 200
            with pytest.raises(getattr(client.exceptions, code)) as raised:
                client.converse(modelId=SONNET, **request)
            assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == http_status
        # Entries queue in order; another model is not affected; our retrying client rides out what it retries.
        admin(double.url, "POST", "/_double/fault-queue", {"model_id": HAIKU_MODEL, "count": 1, "code": "ServiceUnavailableException"})
        admin(double.url, "POST", "/_double/fault-queue", {"model_id": HAIKU_MODEL, "count": 1, "code": "ThrottlingException",
                                                           "message": "Rate exceeded"})
        assert client.converse(modelId=SONNET, **build_request(configs["sonnet-3-5-v2"], cases["faq-en-0007"]))["stopReason"]
        retrying = BedrockClient(ClientSettings(endpoint_url=double.url), sleep=lambda s: None)
        assert (retrying.converse(HAIKU, request).status, admin(double.url, "GET", "/_double/fault-queue")[1]["queue"]) == ("ok", [])
        admin(double.url, "POST", "/_double/fault-queue", {"model_id": HAIKU, "count": 5, "code": "AccessDeniedException"})
        denied = retrying.converse(HAIKU, request)
        assert (denied.error_code, denied.attempts) == ("AccessDeniedException", 1)  # never retried
        assert admin(double.url, "DELETE", "/_double/fault-queue") == (200, {"queue": []})
        assert client.converse(modelId=HAIKU, **request)["stopReason"] == "end_turn"
        assert double_stats(double.url)["scripted"]["forced_faults"] == 2 + len(converse_error_codes()) + 3
        # Bad admin requests: 400 naming what is wrong.
        for doc, says in (({"model_id": HAIKU, "code": "SlowDownException"}, "not an error of Bedrock's Converse"),
                          ({"model_id": "no.such-model", "code": "ThrottlingException"}, "not in the double's model catalog"),
                          ({"model_id": HAIKU, "count": 0, "code": "ThrottlingException"}, "count must be a whole number >= 1"),
                          ({"model_id": HAIKU, "code": "ThrottlingException", "when": "now"}, "unknown field")):
            status, body = admin(double.url, "POST", "/_double/fault-queue", doc)
            assert status == 400 and says in body["message"], body


def test_prompt_overrides(world):
    _, configs, cases = world
    request = build_request(configs["haiku-3-5"], cases["faq-ja-0000"])
    sonnet_request = build_request(configs["sonnet-3-5-v2"], cases["faq-en-0009"])  # (faq-ja-0000's prompt is the same for both)
    with running_double(**NO_FAULTS) as double:
        client = raw_client(double.url)
        generated = client.converse(modelId=HAIKU, **request)["output"]["message"]["content"][0]["text"]
        status, body = admin(double.url, "POST", "/_double/prompt-overrides",
                             {"request": request, "model_id": HAIKU, "times": 2, "text": "海外発送は承っておりません。", "stop_reason": "end_turn",
                              "usage": {"inputTokens": 700, "outputTokens": 9}, "latency_ms": 420})
        assert status == 200 and body["override"]["prompt_hash"] == prompt_hash(request)
        for _ in range(2):
            answer = client.converse(modelId=HAIKU, **request)
            assert answer["output"]["message"]["content"][0]["text"] == "海外発送は承っておりません。"
            assert answer["usage"] == {"inputTokens": 700, "outputTokens": 9, "totalTokens": 709} and answer["metrics"]["latencyMs"] == 420
        assert client.converse(modelId=HAIKU, **request)["output"]["message"]["content"][0]["text"] == generated  # times used up
        # Any model ('*', by prompt hash), streamed too; an error override; other prompts untouched.
        admin(double.url, "POST", "/_double/prompt-overrides", {"prompt_hash": prompt_hash(sonnet_request), "text": "", "stop_reason": "max_tokens"})
        events = list(client.converse_stream(modelId=SONNET, **sonnet_request)["stream"])
        assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e) == ""
        assert next(e for e in events if "messageStop" in e)["messageStop"]["stopReason"] == "max_tokens"
        admin(double.url, "POST", "/_double/prompt-overrides", {"request": request, "error": {"code": "ValidationException",
                                                                                               "message": "Input is too long for requested model."}})
        with pytest.raises(client.exceptions.ValidationException, match="too long"):
            client.converse(modelId=HAIKU, **request)
        assert len(admin(double.url, "GET", "/_double/prompt-overrides")[1]["overrides"]) == 2
        assert admin(double.url, "DELETE", "/_double/prompt-overrides") == (200, {"overrides": []})
        assert client.converse(modelId=HAIKU, **request)["output"]["message"]["content"][0]["text"] == generated
        for doc, says in (({"request": request, "prompt_hash": "0" * 64, "text": "x"}, "either prompt_hash or request"),
                          ({"request": request}, "either text"), ({"prompt_hash": "abc", "text": "x"}, "64 lowercase hex"),
                          ({"request": request, "text": "x", "stop_reason": "done"}, "stop_reason must be one of")):
            status, body = admin(double.url, "POST", "/_double/prompt-overrides", doc)
            assert status == 400 and says in body["message"], body
        # The older POST /_double/overrides (profile fields) is unchanged beside them.
        assert admin(double.url, "POST", "/_double/overrides", {"throttle_rate": 0})[1] == {"overrides": {"throttle_rate": 0.0}}


def test_usage_report_includes_cost_at_catalog_prices(world):
    catalog, configs, cases = world
    with running_double(**NO_FAULTS) as double:
        client = raw_client(double.url)
        seen = {HAIKU_MODEL: [0, 0], "amazon.nova-lite-v1:0": [0, 0]}
        for tid in ("faq-en-0007", "order_tracking-ja-0000", "chitchat-en-0007"):
            for config_id, model in (("haiku-3-5", HAIKU_MODEL), ("nova-lite", "amazon.nova-lite-v1:0")):
                usage = client.converse(modelId=catalog[model].invoke_id, **build_request(configs[config_id], cases[tid]))["usage"]
                seen[model][0] += usage["inputTokens"]
                seen[model][1] += usage["outputTokens"]
        sonnet_request = build_request(configs["sonnet-3-5-v2"], cases["faq-en-0007"])
        admin(double.url, "POST", "/_double/prompt-overrides", {"request": sonnet_request, "text": "ok",
                                                                "usage": {"inputTokens": 1000, "outputTokens": 200}})
        client.converse(modelId=SONNET, **sonnet_request)
        admin(double.url, "POST", "/_double/fault-queue", {"model_id": "*", "count": 1, "code": "ThrottlingException"})
        with pytest.raises(client.exceptions.ThrottlingException):  # an error costs nothing
            client.converse(modelId=SONNET, **sonnet_request)
        usage = double_stats(double.url)["usage"]
    sonnet = usage["models"]["anthropic.claude-3-5-sonnet-20241022-v2:0"]
    assert (sonnet["answers"], sonnet["input_tokens"], sonnet["output_tokens"]) == (1, 1000, 200)
    assert sonnet["cost_usd"] == pytest.approx((1000 * 3.00 + 200 * 15.00) / 1e6)  # Sonnet 3.5 v2: $3 / $15 per 1M
    for model, (inp, out) in seen.items():
        block = usage["models"][model]
        assert (block["answers"], block["input_tokens"], block["output_tokens"]) == (3, inp, out)
        assert block["cost_usd"] == pytest.approx(catalog[model].cost_usd(inp, out))
    assert usage["models"]["amazon.nova-lite-v1:0"]["input_usd_per_mtok"] == 0.06  # Nova Lite: $0.06 / $0.24
    assert usage["cost_usd"] == pytest.approx(sum(b["cost_usd"] for b in usage["models"].values()))
    assert usage["answers"] == 7


def test_served_library_v1_errors_and_answers(world):
    """The shipped library served: an error fixture raises its recorded error, the guardrail fixture keeps its stop reason."""
    catalog = world[0]
    library = load_library("v1")
    picks = [f for f in library.fixtures if f.id.startswith(("timeout/", "guardrail/haiku", "golden/sonnet-3-5-v2/faq-ja"))]
    from mangaeval.double.profiles import load_profiles
    from mangaeval.double.server import DoubleInThread

    with DoubleInThread(time_scale=0.0, profiles=load_profiles(overrides=NO_FAULTS), fixtures="v1", fixtures_miss="refuse") as double:
        client = raw_client(double.url)
        for fixture in picks:
            if fixture.ok:
                answer = client.converse(modelId=fixture.invoke_id, **fixture.request)
                assert (answer["output"]["message"]["content"][0]["text"], answer["stopReason"]) == (fixture.text, fixture.stop_reason)
            else:
                with pytest.raises(getattr(client.exceptions, fixture.error["code"]), match=re.escape(fixture.error["message"])):
                    client.converse(modelId=fixture.invoke_id, **fixture.request)
    assert len(picks) == 3 and catalog


def test_double_serve_refuses_a_bad_library(tmp_path, capsys):
    from mangaeval.cli import main

    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.jsonl").write_text('{"id": "x"\n', encoding="utf-8")
    assert main(["double", "serve", "--port", "0", "--fixtures", str(tmp_path / "lib")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'lib' / 'a.jsonl'}:1: invalid JSON" in err and "manifest" in err
    assert main(["double", "serve", "--port", "0", "--fixtures", str(tmp_path / "nothing-here")]) == 2
    assert "no such fixture folder" in capsys.readouterr().err


def test_cli_record_replaces_by_id_and_refuses_a_second_fixture_for_one_prompt(tmp_path, monkeypatch, capsys):
    from mangaeval.cli import main
    from mangaeval.fixtures.library import validate_library

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cli-secret-key-value")
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    out = tmp_path / "rec"
    with running_double(**NO_FAULTS) as double:
        argv = ["fixtures", "record", "--configs", "haiku-3-5", "--cases", "faq-en-0007", "chitchat-ja-0000",
                "--endpoint-url", double.url, "--out", str(out), "--json"]
        assert main(argv) == 0
        first = json.loads(capsys.readouterr().out)
        assert (first["recorded"], first["replaced"], first["in_file"], first["recorded_from"]) == (2, 0, 2, "endpoint")
        assert main(argv) == 0  # re-recorded: the same ids are replaced
        again = json.loads(capsys.readouterr().out)
        assert (again["recorded"], again["replaced"], again["in_file"]) == (2, 2, 2)
        assert main(argv + ["--file", "other.jsonl", "--kind", "golden"]) == 2
        assert "one model's prompt two different fixtures" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "recorded.jsonl"]
    library, problems = validate_library(out)
    assert problems == [] and library.version == "rec" and len(library.fixtures) == 2
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert ACCESS_KEY not in text and SESSION_TOKEN not in text and "x-amz-" not in text.lower()
