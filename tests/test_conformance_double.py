"""The model double against responses recorded from the real Bedrock Runtime service.

Each recorded request the double can imitate (a model the project carries, or a model id the service
rejected as invalid) is sent as recorded (same model id, same body, same operation) to the double, and its
answer compared with the recording: HTTP status and error type (x-amzn-ErrorType before ':'), the error
message where the service's wording was recorded, and for successes the response shape (keys of
output/usage/metrics, integer tokens and latencyMs, totalTokens = input + output; for streams the event
sequence). Recordings the double cannot imitate are listed in CANNOT_IMITATE with the reason, reported as skips.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote
from urllib.request import Request, urlopen

import pytest
from botocore.eventstream import EventStreamBuffer

from mangaeval.models import load_model_catalog
from mangaeval.double.server import DoubleInThread
from tests.bedrock_replay import distinct, load_recordings

RECORDINGS = distinct(load_recordings())
# Every id the double answers: on-demand model ids and the inference profiles of each catalog model.
CARRIED = {spec.model_id for spec in load_model_catalog().values() if spec.on_demand} | {
    f"{geo}.{spec.model_id}" for spec in load_model_catalog().values() for geo in spec.profiles}
INVALID_MODEL_MESSAGE = "The provided model identifier is invalid."

# Recordings the double cannot imitate, and why. Kept explicit: a new fixture must be classified here or be
# imitable (a carried model, or a model id the service called invalid); test_table_is_complete checks that.
CANNOT_IMITATE = {
    "otel__converse_with_content#0": "amazon.titan-text-lite-v1 is not a model the project carries (models.yaml)",
    "otel__converse_stream_with_content#0": "amazon.titan-text-lite-v1 is not a model the project carries (models.yaml)",
    "openllmetry__guardrail_converse#0": "amazon.titan-text-express-v1 is not carried, and the double models no guardrail "
                                         "(stopReason guardrail_intervened, PII masking, trace)",
    "openllmetry__guardrail_converse_stream#0": "amazon.titan-text-express-v1 is not carried, and the double models no guardrail",
    "pydanticai__bedrock_inference_profile_converse#0": "an application-inference-profile ARN of another account: the double "
                                                        "knows system-defined cross-region profiles only",
    "pydanticai__bedrock_openai_gpt_5_6_api_rejects_sampling_settings#0": "us.openai.gpt-5.6-sol (an OpenAI model behind a "
                                                                         "cross-region profile) is not carried",
    "pydanticai__bedrock_throttling_error#0": "hand-written upstream (not a recording); the double draws throttling at a rate, "
                                              "not per request (tests/test_invocation_rules.py checks its 429 ThrottlingException)",
    "pydanticai__bedrock_server_error#0": "hand-written upstream (not a recording), on a profile id the project does not carry; "
                                          "the double draws 5xx at a rate, not per request",
    "newrelic__converse_mock_responses#1": "UnrecognizedClientException (403) answers a bad signature: the double checks no "
                                           "credentials",
    "otel__converse_tool_call_with_content#0": "the model answered with toolUse blocks and stopReason tool_use: the double "
                                               "never calls tools",
}


def _imitable(rec) -> bool:
    return rec.model_id in CARRIED or rec.error_message == INVALID_MODEL_MESSAGE


@pytest.fixture(scope="module")
def double_url():
    with DoubleInThread(seed=0, time_scale=0) as double:
        yield double.url


def _send(url: str, rec) -> tuple[int, dict[str, str], bytes]:
    request = Request(f"{url}/model/{quote(rec.model_id, safe='')}/{rec.operation}", method="POST",
                      data=json.dumps(rec.request_body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read()
    except HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def _error_type(headers: dict[str, str], body: bytes) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get("x-amzn-errortype"):
        return lowered["x-amzn-errortype"].split(":", 1)[0]
    try:
        return json.loads(body).get("__type")
    except ValueError:
        return None


def _events(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    buffer = EventStreamBuffer()
    buffer.add_data(body)
    return [(m.headers[":event-type"].decode() if isinstance(m.headers[":event-type"], bytes) else m.headers[":event-type"],
             json.loads(m.payload or b"{}")) for m in buffer]


def _collapse(kinds: list[str]) -> list[str]:
    return [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]


def _check_usage_and_metrics(usage: dict[str, Any], metrics: dict[str, Any], recorded_usage: dict[str, Any],
                             recorded_metrics: dict[str, Any]) -> None:
    # Recordings from late 2025 add usage.serverToolUsage ({}); the three token counts are in every recording.
    required = {"inputTokens", "outputTokens", "totalTokens"}
    assert required <= set(recorded_usage)
    assert required <= set(usage), usage
    assert all(type(usage[k]) is int for k in required), usage
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert set(metrics) == set(recorded_metrics) == {"latencyMs"}, metrics
    assert type(metrics["latencyMs"]) is int, metrics


def _check_max_tokens(rec, stop_reason: str, usage: dict[str, Any]) -> None:
    """maxTokens bounds the answer; where the service stopped at a small maxTokens the double must stop there too."""
    max_tokens = (rec.request_body.get("inferenceConfig") or {}).get("maxTokens")
    if max_tokens is None:
        return
    assert usage["outputTokens"] <= max_tokens, usage
    recorded = rec.expected()
    if recorded["stop_reason"] == "max_tokens" and max_tokens <= 10:
        assert stop_reason == "max_tokens", (stop_reason, usage)
        assert usage["outputTokens"] == max_tokens, usage


@pytest.mark.parametrize("rec", RECORDINGS, ids=[r.id for r in RECORDINGS])
def test_double_answers_as_recorded(rec, double_url):
    if rec.id in CANNOT_IMITATE:
        pytest.skip(f"cannot imitate: {CANNOT_IMITATE[rec.id]}")
    status, headers, body = _send(double_url, rec)
    assert status == rec.status, (status, body[:300])
    if rec.is_error:
        if rec.error_type:  # pydantic-ai's cassette filter dropped x-amzn-ErrorType: then only status and message
            assert _error_type(headers, body) == rec.error_type, (headers, body)
        return
    if rec.is_stream:
        assert headers.get("Content-Type", "").startswith("application/vnd.amazon.eventstream"), headers
        events, recorded_events = _events(body), rec.stream_events()
        assert _collapse([k for k, _ in events]) == _collapse([k for k, _ in recorded_events])
        stop = next(p for k, p in events if k == "messageStop")["stopReason"]
        meta, recorded_meta = events[-1][1], recorded_events[-1][1]
        _check_usage_and_metrics(meta["usage"], meta["metrics"], recorded_meta["usage"], recorded_meta["metrics"])
        _check_max_tokens(rec, stop, meta["usage"])
        return
    doc, recorded = json.loads(body), rec.json_body
    assert {"output", "stopReason", "usage", "metrics"} <= set(doc), doc.keys()
    assert set(doc["output"]) == set(recorded["output"]) == {"message"}
    message = doc["output"]["message"]
    assert message["role"] == "assistant" and set(message) == set(recorded["output"]["message"])
    assert message["content"] and all(set(block) == {"text"} for block in message["content"]), message
    _check_usage_and_metrics(doc["usage"], doc["metrics"], recorded["usage"], recorded["metrics"])
    _check_max_tokens(rec, doc["stopReason"], doc["usage"])


@pytest.mark.parametrize("rec", [r for r in RECORDINGS if r.is_error and r.id not in CANNOT_IMITATE],
                         ids=[r.id for r in RECORDINGS if r.is_error and r.id not in CANNOT_IMITATE])
def test_double_words_errors_as_the_service(rec, double_url):
    """The error message, byte for byte as the service wrote it."""
    status, _, body = _send(double_url, rec)
    assert json.loads(body).get("message") == rec.error_message, (status, body)


def test_table_is_complete():
    """Every recording is either imitable or listed with a reason; nothing listed is stale."""
    ids = {rec.id for rec in RECORDINGS}
    assert set(CANNOT_IMITATE) <= ids, sorted(set(CANNOT_IMITATE) - ids)
    unclassified = [rec.id for rec in RECORDINGS if rec.id not in CANNOT_IMITATE and not _imitable(rec)]
    assert not unclassified, unclassified
