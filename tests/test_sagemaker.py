"""The custom model both ways against the double: a team's own SageMaker endpoint through sagemaker-runtime
InvokeEndpoint (the TGI/LMI messages payload), and a Bedrock Marketplace deployment through Converse with its
endpoint ARN; tokens and latency recorded the same way."""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
import yaml

from mangaeval.bedrock import BedrockClient, ClientSettings
from mangaeval.double.profiles import load_profiles
from mangaeval.double.server import DoubleInThread
from mangaeval.engine import EngineSettings, EvaluationEngine
from mangaeval.models import ModelConfig, load_configurations, load_model_catalog
from mangaeval.paths import CONFIG_DIR
from mangaeval.prompts import build_request
from mangaeval.sagemaker import SageMakerClient, converse_request, messages_payload
from tests.conftest import running_double

pytestmark = pytest.mark.integration
NO_FAULTS = {"throttle_rate": 0, "timeout_rate": 0, "unavailable_rate": 0, "model_error_rate": 0}
OWN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/mangaassist-custom-llm"
MARKETPLACE = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/marketplace-llm"


def test_payload_round_trip(starter):
    request = build_request(load_configurations()["custom-sagemaker"], starter.cases[0])
    payload = messages_payload(request)
    assert payload["messages"][0]["role"] == "system" and payload["messages"][-1]["role"] == "user"
    assert payload["max_tokens"] == 1024 and payload["temperature"] == 0.2 and payload["top_p"] == 0.9
    assert converse_request(payload) == {**request, "system": request["system"]}


def test_own_endpoint_through_invoke_endpoint(starter):
    config = load_configurations()["custom-sagemaker"]
    with running_double(**NO_FAULTS) as double:
        raw = boto3.client("sagemaker-runtime", endpoint_url=double.url, region_name="us-east-1",
                           aws_access_key_id="t", aws_secret_access_key="t")
        body = raw.invoke_endpoint(EndpointName="mangaassist-custom-llm", ContentType="application/json",
                                   Body=json.dumps(messages_payload(build_request(config, starter.cases[0]))))["Body"].read()
        doc = json.loads(body)
        assert doc["choices"][0]["message"]["content"] and doc["usage"]["prompt_tokens"] > 100
        engine = EvaluationEngine(BedrockClient(ClientSettings(endpoint_url=double.url, sagemaker_endpoint_url=double.url)),
                                  load_model_catalog(), EngineSettings(use_cache=False))
        frame, stats = engine.evaluate([config], starter.cases[:5], run_id="r", dataset_version="v0")
        calls = json.loads(urllib.request.urlopen(double.url + "/_double/stats").read())["calls"]
    assert stats.ok == 5 and calls.get("mangaassist-custom-llm") == 6  # InvokeEndpoint, never Converse
    assert (frame["input_tokens"] > 100).all() and (frame["output_tokens"] > 0).all() and (frame["latency_ms"] > 0).all()
    assert (frame["model_id"] == OWN).all() and set(frame["stop_reason"]) == {"end_turn"}
    assert frame["cost_usd"].iloc[0] == pytest.approx(load_model_catalog()[OWN].cost_usd(frame["input_tokens"].iloc[0], frame["output_tokens"].iloc[0]))


@pytest.mark.parametrize("override, code, attempts", [("throttle_rate", "ThrottlingException", 3), ("model_error_rate", "ModelError", 2),
                                                      ("unavailable_rate", "ServiceUnavailable", 3), ("timeout_rate", "ModelError", 2)])
def test_endpoint_faults_as_sagemaker_names_them(starter, override, code, attempts):
    request = build_request(load_configurations()["custom-sagemaker"], starter.cases[0])
    with running_double(**{**NO_FAULTS, override: 1.0}) as double:
        result = SageMakerClient(ClientSettings(sagemaker_endpoint_url=double.url, max_attempts=3, model_error_attempts=2),
                                 sleep=lambda s: None).invoke("mangaassist-custom-llm", request)
    assert result.status == "error" and result.error_code == code and result.attempts == attempts


def test_unknown_endpoint_and_container_limits(starter):
    request = build_request(load_configurations()["custom-sagemaker"], starter.cases[0])
    with running_double(**NO_FAULTS) as double:
        client = SageMakerClient(ClientSettings(sagemaker_endpoint_url=double.url), sleep=lambda s: None)
        missing = client.invoke("no-such-endpoint", request)
        too_long = client.invoke("mangaassist-custom-llm", {**request, "inferenceConfig": {"maxTokens": 5000}})
    assert missing.error_code == "ValidationError" and "Endpoint no-such-endpoint" in missing.error_message and missing.attempts == 1
    assert too_long.error_code == "ModelError" and "max_new_tokens" in too_long.error_message


def test_marketplace_endpoint_through_converse(tmp_path, starter):
    doc = yaml.safe_load((CONFIG_DIR / "models.yaml").read_text())
    doc["models"][MARKETPLACE] = {**doc["models"][OWN], "api": "converse", "streaming": True}
    del doc["models"][MARKETPLACE]["payload"]
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(doc))
    catalog = load_model_catalog(path)
    config = ModelConfig("marketplace", MARKETPLACE, 0.2, 0.9, 512, "v1")
    with DoubleInThread(seed=1, time_scale=0, profiles=load_profiles(models_path=path, overrides=NO_FAULTS), catalog=catalog) as server:
        engine = EvaluationEngine(BedrockClient(ClientSettings(endpoint_url=server.url)), catalog, EngineSettings(use_cache=False))
        frame, stats = engine.evaluate([config], starter.cases[:4], run_id="r", dataset_version="v0")
        streamed, _ = EvaluationEngine(BedrockClient(ClientSettings(endpoint_url=server.url)), catalog,
                                       EngineSettings(use_cache=False, stream=True)).evaluate([config], starter.cases[:4], run_id="r", dataset_version="v0")
    assert stats.ok == 4 and (frame["latency_ms"] > 0).all() and (frame["output_tokens"] > 0).all()
    assert list(streamed["response_text"]) == list(frame["response_text"])
