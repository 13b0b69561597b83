"""The model double speaks Bedrock's wire protocol: unmodified boto3 talks to it via endpoint_url."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.eventstream import EventStreamBuffer

from mangaeval.double.eventstream import encode_event
from mangaeval.models import load_configurations
from mangaeval.prompts import build_request
from tests.conftest import double_stats, running_double

pytestmark = pytest.mark.integration
SONNET = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"  # profile-only in us-east-1: invoked through its inference profile
HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


def raw_client(url: str):
    return boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=boto3.session.Config(retries={"total_max_attempts": 1}))


def request_for(starter, index=0, config_id="sonnet-3-5-v2"):
    return build_request(load_configurations()[config_id], starter.cases[index])


def test_converse_through_boto3(double, starter):
    response = raw_client(double.url).converse(modelId=SONNET, **request_for(starter))
    text = response["output"]["message"]["content"][0]["text"]
    assert response["output"]["message"]["role"] == "assistant" and text
    assert response["usage"]["inputTokens"] > 100 and response["usage"]["outputTokens"] > 0
    assert response["usage"]["totalTokens"] == response["usage"]["inputTokens"] + response["usage"]["outputTokens"]
    assert response["metrics"]["latencyMs"] > 0
    assert response["stopReason"] == "end_turn"


def test_converse_stream_through_boto3_matches_converse(double, starter):
    client = raw_client(double.url)
    request = request_for(starter, 3)
    whole = client.converse(modelId=SONNET, **request)
    events = list(client.converse_stream(modelId=SONNET, **request)["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-1] == "metadata" and "messageStop" in kinds
    streamed = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert streamed == whole["output"]["message"]["content"][0]["text"]
    assert events[-1]["metadata"]["usage"] == whole["usage"]


def test_own_sagemaker_endpoint_is_not_reachable_through_converse(double, starter):
    # Converse reaches a SageMaker endpoint only when it is a Bedrock Marketplace deployment; ours is called with
    # InvokeEndpoint (tests/test_sagemaker.py), so its ARN as a Converse model id is refused as Bedrock refuses it.
    arn = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/mangaassist-custom-llm"
    client = raw_client(double.url)
    with pytest.raises(client.exceptions.ValidationException, match="model identifier is invalid"):
        client.converse(modelId=arn, **request_for(starter, config_id="custom-sagemaker"))


def test_unknown_model_and_max_tokens_over_limit_are_validation_errors(double, starter):
    client = raw_client(double.url)
    with pytest.raises(client.exceptions.ValidationException, match="model identifier is invalid"):
        client.converse(modelId="anthropic.claude-99", **request_for(starter))
    request = request_for(starter)
    request["inferenceConfig"]["maxTokens"] = 9000  # Haiku 3.5 allows 8192
    with pytest.raises(client.exceptions.ValidationException, match="exceeds the model limit of 8192"):
        client.converse(modelId=HAIKU, **request)


@pytest.mark.parametrize(
    "override, exception_name, status",
    [
        ("throttle_rate", "ThrottlingException", 429),
        ("timeout_rate", "ModelTimeoutException", 408),
        ("unavailable_rate", "ServiceUnavailableException", 503),
        ("model_error_rate", "ModelErrorException", 424),
    ],
)
def test_each_error_class_raised_as_botocore_raises_it(starter, override, exception_name, status):
    rates = {"throttle_rate": 0, "timeout_rate": 0, "unavailable_rate": 0, "model_error_rate": 0, override: 1.0}
    with running_double(**rates) as double:
        client = raw_client(double.url)
        with pytest.raises(getattr(client.exceptions, exception_name)) as err:
            client.converse(modelId=SONNET, **request_for(starter))
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
        assert err.value.response["Error"]["Code"] == exception_name
        with pytest.raises(getattr(client.exceptions, exception_name)):
            client.converse_stream(modelId=SONNET, **request_for(starter))


def test_deterministic_for_same_seed_and_request(starter):
    request = request_for(starter, 5)
    bodies = []
    for _ in range(2):
        with running_double(seed=11, throttle_rate=0, timeout_rate=0, unavailable_rate=0, model_error_rate=0) as double:
            response = raw_client(double.url).converse(modelId=HAIKU, **request)
            bodies.append((response["output"], response["usage"], response["metrics"]))
    assert bodies[0] == bodies[1]
    with running_double(seed=12, throttle_rate=0, timeout_rate=0, unavailable_rate=0, model_error_rate=0) as double:
        others = [raw_client(double.url).converse(modelId=HAIKU, **request_for(starter, i))["metrics"] for i in range(5, 25)]
    with running_double(seed=11, throttle_rate=0, timeout_rate=0, unavailable_rate=0, model_error_rate=0) as double:
        same_seed = [raw_client(double.url).converse(modelId=HAIKU, **request_for(starter, i))["metrics"] for i in range(5, 25)]
    assert others != same_seed, "a different seed draws different latencies"


def test_haiku_class_faster_than_sonnet_class(double, starter):
    client = raw_client(double.url)
    latency = {m: [client.converse(modelId=m, **request_for(starter, i))["metrics"]["latencyMs"] for i in range(0, 240, 6)]
               for m in (SONNET, HAIKU)}
    assert sum(latency[HAIKU]) < 0.6 * sum(latency[SONNET])


def test_answers_use_only_the_grounding(double, starter):
    """The double reads facts from the prompt: a price that is only in the grounding shows up in the answer."""
    client = raw_client(double.url)
    hits = 0
    cases = [c for c in starter.cases if c.intent == "order_tracking"]
    for case in cases:
        request = build_request(load_configurations()["sonnet-3-5-v2"], case)
        text = client.converse(modelId=SONNET, **request)["output"]["message"]["content"][0]["text"]
        hits += case.grounding["order"]["order_id"] in text
    assert hits >= 0.8 * len(cases)


def test_time_scale_slows_down_real_time(starter):
    import time

    with running_double(time_scale=0.05, throttle_rate=0, timeout_rate=0, unavailable_rate=0, model_error_rate=0) as double:
        client = raw_client(double.url)
        start = time.perf_counter()
        response = client.converse(modelId=SONNET, **request_for(starter))
        elapsed_ms = (time.perf_counter() - start) * 1000
    assert elapsed_ms >= 0.05 * response["metrics"]["latencyMs"] * 0.9


def test_event_stream_encoder_round_trips_through_botocore_decoder():
    buffer = EventStreamBuffer()
    buffer.add_data(encode_event("contentBlockDelta", {"delta": {"text": "こんにちは"}, "contentBlockIndex": 0}))
    message = next(iter(buffer))
    assert message.headers[":event-type"] == "contentBlockDelta"
    assert message.payload.decode() == '{"delta": {"text": "こんにちは"}, "contentBlockIndex": 0}'


def test_overrides_shape_a_running_double_and_clear_again():
    """A deployment's double service is throttled (and restored) at run time through POST /_double/overrides."""
    import urllib.error
    import urllib.request

    import boto3
    from botocore.config import Config

    def post(url: str, doc) -> tuple[int, dict]:
        request = urllib.request.Request(f"{url}/_double/overrides", data=json.dumps(doc).encode(), method="POST")
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    with running_double(throttle_rate=0, timeout_rate=0, unavailable_rate=0, model_error_rate=0) as d:
        client = boto3.client("bedrock-runtime", endpoint_url=d.url, region_name="us-east-1", aws_access_key_id="x",
                              aws_secret_access_key="x", config=Config(retries={"total_max_attempts": 1}))
        ask = {"modelId": "amazon.nova-lite-v1:0", "messages": [{"role": "user", "content": [{"text": "hello"}]}]}
        client.converse(**ask)
        assert post(d.url, {"throttle_rate": 1}) == (200, {"overrides": {"throttle_rate": 1.0}})
        with pytest.raises(client.exceptions.ThrottlingException):
            client.converse(**ask)
        assert double_stats(d.url)["overrides"] == {"throttle_rate": 1.0}
        status, body = post(d.url, {"throttle_rate": 2, "colour": 1})
        assert status == 400 and "throttle_rate must be in [0, 1]" in body["message"] and "colour" in body["message"]
        assert post(d.url, {}) == (200, {"overrides": {}})
        client.converse(**ask)
