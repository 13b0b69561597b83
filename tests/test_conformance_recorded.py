"""The project's Bedrock client against responses recorded from the real Bedrock Runtime service.

Every recording in tests/fixtures/bedrock_recordings/ (see SOURCES.md there) is replayed by a local server
to `mangaeval.bedrock.BedrockClient`, which must read it as a real-service answer: the same text, tokens,
latency and stop reason for a success; for an error, status "error" with the recorded error type, and the
retry behaviour the error implies (throttling, 5xx and ModelNotReady retried up to max_attempts; validation,
access and not-found errors sent once).
"""

from __future__ import annotations

import collections

import pytest

from mangaeval.bedrock import BedrockClient, ClientSettings
from tests.bedrock_replay import ReplayServer, by_id, distinct, load_recordings

ALL = load_recordings()
RECORDINGS = distinct(ALL)
MAX_ATTEMPTS = 4
MODEL_ERROR_ATTEMPTS = 2
RETRIED = {"ThrottlingException", "ServiceUnavailableException", "InternalServerException", "ModelNotReadyException"}
HANDLED: set[str] = set()


def _client(url: str, region: str = "us-east-1", **overrides) -> BedrockClient:
    settings = ClientSettings(endpoint_url=url, region=region, max_attempts=overrides.pop("max_attempts", MAX_ATTEMPTS),
                              model_error_attempts=MODEL_ERROR_ATTEMPTS, **overrides)
    return BedrockClient(settings, sleep=lambda s: None, seed=0)


def _expected_requests(rec) -> int:
    """How many requests a recorded error should cost: retried ones up to max_attempts, the rest once."""
    if rec.error_type in RETRIED or rec.status == 429 or rec.status >= 500:
        return MAX_ATTEMPTS
    if rec.error_type in {"ModelTimeoutException", "ModelErrorException", "ModelStreamErrorException"}:
        return MODEL_ERROR_ATTEMPTS
    return 1


@pytest.mark.parametrize("rec", RECORDINGS, ids=[r.id for r in RECORDINGS])
def test_client_reads_recording(rec):
    with ReplayServer([rec]) as server:
        result = _client(server.url, rec.region).converse(rec.model_id, rec.request_body, stream=rec.operation == "converse-stream")
    assert server.requests, "the client sent nothing"
    assert {(r.model_id, r.operation) for r in server.requests} == {(rec.model_id, rec.operation)}
    assert all(r.body == rec.request_body for r in server.requests), "the client changed the recorded request body"
    if rec.is_error:
        assert result.status == "error", result
        # With no error type recorded (pydantic-ai's cassette filter drops x-amzn-ErrorType), botocore falls back
        # to the HTTP status as the code: that is what the client can know.
        assert result.error_code == (rec.error_type or str(rec.status)), result
        assert result.error_message == rec.error_message
        assert len(server.requests) == result.attempts == _expected_requests(rec), (len(server.requests), result)
    else:
        want = rec.expected()
        assert result.status == "ok", result
        assert result.text == want["text"]
        assert (result.input_tokens, result.output_tokens) == (want["input_tokens"], want["output_tokens"])
        assert want["total_tokens"] is None or want["total_tokens"] == want["input_tokens"] + want["output_tokens"]
        assert result.latency_ms == want["latency_ms"] and isinstance(result.latency_ms, int)
        assert result.stop_reason == want["stop_reason"]
        assert len(server.requests) == result.attempts == 1
    HANDLED.add(rec.id)


def test_whole_throttling_cassette_is_five_attempts():
    """pydantic-ai's throttling cassette holds five 429s: a client allowed five attempts sends exactly five."""
    cassette = [r for r in ALL if r.id.startswith("pydanticai__bedrock_throttling_error#")]
    assert len(cassette) == 5
    with ReplayServer(cassette) as server:
        result = _client(server.url, max_attempts=5).converse(cassette[0].model_id, cassette[0].request_body)
    assert (result.status, result.error_code, result.attempts, len(server.requests)) == ("error", "ThrottlingException", 5, 5)


@pytest.mark.parametrize("error_id", ["pydanticai__bedrock_throttling_error#0", "pydanticai__bedrock_server_error#0"])
def test_retry_then_success(error_id):
    """[error, error, success]: the transient errors are ridden out and the success read as recorded."""
    error = by_id(ALL, error_id)
    success = by_id(ALL, "pydanticai__bedrock_model_max_tokens#0")
    with ReplayServer([error, error, success]) as server:
        result = _client(server.url).converse(success.model_id, success.request_body)
    assert (result.status, result.attempts, len(server.requests)) == ("ok", 3, 3)
    assert (result.text, result.stop_reason, result.output_tokens) == ("The capital of France is", "max_tokens", 5)


@pytest.mark.parametrize("error_id", ["otel__converse_with_invalid_model#0", "newrelic__converse_mock_responses#1"])
def test_fatal_error_is_not_retried_even_before_a_success(error_id):
    error = by_id(ALL, error_id)
    success = by_id(ALL, "otel__converse_tool_call_with_content#1")
    with ReplayServer([error, success]) as server:
        result = _client(server.url).converse(error.model_id, error.request_body)
    assert (result.status, result.error_code, len(server.requests)) == ("error", error.error_type, 1)


def test_inventory_and_every_recording_handled():
    """Runs last in this module: every distinct recording went through the client; prints the inventory."""
    kinds = collections.Counter()
    for rec in RECORDINGS:
        if rec.is_error:
            kinds[f"error {rec.status} {rec.error_type or '(type not recorded)'}"] += 1
        else:
            kinds[f"{'stream' if rec.is_stream else 'converse'} ok stopReason={rec.expected()['stop_reason']}"] += 1
    sources = collections.Counter((rec.source["repo"], rec.source["licence"], str(rec.real_service)) for rec in RECORDINGS)
    print(f"\n{len(HANDLED)}/{len(RECORDINGS)} distinct recordings replayed to the client ({len(ALL)} interactions)")
    for kind, n in sorted(kinds.items()):
        print(f"  {n:2d}  {kind}")
    for (repo, licence, real), n in sorted(sources.items()):
        print(f"  {n:2d}  {repo} ({licence}) real_service={real}")
    assert len(RECORDINGS) >= 15
    assert HANDLED == {rec.id for rec in RECORDINGS}, sorted({rec.id for rec in RECORDINGS} - HANDLED)
