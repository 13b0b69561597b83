"""Our retry policy on top of boto3: backoff on throttling/5xx, bounded retries for model errors."""

from __future__ import annotations

import pytest

from mangaeval.bedrock import BedrockClient, ClientSettings
from mangaeval.models import load_configurations
from mangaeval.prompts import build_request
from tests.conftest import double_stats, running_double

pytestmark = pytest.mark.integration
SONNET = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"  # profile-only in us-east-1: invoked through its inference profile
NO_ERRORS = {"throttle_rate": 0, "timeout_rate": 0, "unavailable_rate": 0, "model_error_rate": 0}


def make_client(url: str, sleeps: list[float] | None = None, **settings) -> BedrockClient:
    sink = sleeps if sleeps is not None else []
    return BedrockClient(ClientSettings(endpoint_url=url, **settings), sleep=sink.append, seed=3)


def request(starter, i=0):
    return build_request(load_configurations()["sonnet-3-5-v2"], starter.cases[i])


def test_ok_call_fields(client, starter):
    result = client.converse(SONNET, request(starter))
    assert result.status == "ok" and result.attempts == 1 and result.error_code is None
    assert result.input_tokens > 0 and result.output_tokens > 0 and result.latency_ms > 0 and result.wall_ms > 0


def test_stream_call_fields(client, starter):
    whole = client.converse(SONNET, request(starter, 2))
    streamed = client.converse(SONNET, request(starter, 2), stream=True)
    assert streamed.status == "ok"
    assert (streamed.text, streamed.input_tokens, streamed.output_tokens, streamed.latency_ms) == \
           (whole.text, whole.input_tokens, whole.output_tokens, whole.latency_ms)


def test_throttling_retried_with_growing_jittered_backoff_up_to_the_bound(starter):
    with running_double(**{**NO_ERRORS, "throttle_rate": 1.0}) as double:
        sleeps: list[float] = []
        result = make_client(double.url, sleeps, max_attempts=4, backoff_base_s=1.0, backoff_cap_s=3.0).converse(SONNET, request(starter))
        assert result.status == "error" and result.error_code == "ThrottlingException"
        assert result.attempts == 4 and double_stats(double.url)["total_calls"] == 4
    assert len(sleeps) == 3
    assert all(0 <= s <= min(3.0, 1.0 * 2 ** i) for i, s in enumerate(sleeps))


@pytest.mark.parametrize("override, code", [("timeout_rate", "ModelTimeoutException"), ("model_error_rate", "ModelErrorException")])
def test_model_errors_have_their_own_bound(starter, override, code):
    with running_double(**{**NO_ERRORS, override: 1.0}) as double:
        result = make_client(double.url, max_attempts=6, model_error_attempts=2).converse(SONNET, request(starter))
        assert (result.status, result.error_code, result.attempts) == ("error", code, 2)
        assert double_stats(double.url)["total_calls"] == 2


def test_validation_error_is_not_retried(double, starter):
    before = double_stats(double.url)["total_calls"]
    result = make_client(double.url).converse("no.such-model", request(starter))
    assert (result.status, result.error_code, result.attempts) == ("error", "ValidationException", 1)
    assert double_stats(double.url)["total_calls"] == before + 1


def test_transient_errors_are_ridden_out(starter):
    with running_double(**{**NO_ERRORS, "throttle_rate": 0.4, "unavailable_rate": 0.1}) as double:
        client = make_client(double.url, max_attempts=10)
        results = [client.converse(SONNET, request(starter, i)) for i in range(40)]
    assert all(r.status == "ok" for r in results)
    assert any(r.attempts > 1 for r in results)


def test_connection_refused_is_an_error_result_not_an_exception(starter):
    result = make_client("http://127.0.0.1:9", max_attempts=2, connect_timeout_s=0.5).converse(SONNET, request(starter))
    assert result.status == "error" and result.error_code == "EndpointConnectionError" and result.attempts == 2


def test_endpoint_from_environment(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:1234")
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    settings = ClientSettings.from_env()
    assert settings.endpoint_url == "http://127.0.0.1:1234" and settings.region == "ap-northeast-1"
    client = BedrockClient(settings)
    assert client.boto_client.meta.endpoint_url == "http://127.0.0.1:1234"
    assert client.boto_client.meta.config.read_timeout == 300.0
