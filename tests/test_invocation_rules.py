"""Bedrock's invocation rules as data: `configs validate` refuses each planted violation naming its rule, before
any call; the request builder sends only what a model accepts; the double refuses what the service refuses, with
the service's status, error type and wording; its faults reach the client as the service sends them."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import boto3
import pytest
import yaml

from mangaeval.bedrock import BedrockClient, ClientSettings
from mangaeval.cli import main
from mangaeval.double.profiles import load_profiles
from mangaeval.double.server import DoubleInThread
from mangaeval.models import ModelConfig, load_configurations, load_model_catalog
from mangaeval.paths import CONFIG_DIR
from mangaeval.prompts import build_request
from tests.conftest import double_stats, running_double

NO_FAULTS = {"throttle_rate": 0, "timeout_rate": 0, "unavailable_rate": 0, "model_error_rate": 0}
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET_35_V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
HAIKU_35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
HAIKU_3 = "anthropic.claude-3-haiku-20240307-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
CUSTOM = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/mangaassist-custom-llm"
# A family that refuses sampling parameters altogether (Claude Opus 4.7 and later do): planted, not shipped.
NO_SAMPLING_MODEL = "anthropic.claude-future-v1:0"


def shipped_models() -> dict:
    return yaml.safe_load((CONFIG_DIR / "models.yaml").read_text(encoding="utf-8"))


def models_with(**changes: dict) -> dict:
    doc = copy.deepcopy(shipped_models())
    doc["models"][NO_SAMPLING_MODEL] = {"kind": "bedrock", "family": "claude-future", "tier": "sonnet", "on_demand": False,
                                        "profiles": ["global"], "invoke": "global", "input_usd_per_mtok": 5.0,
                                        "output_usd_per_mtok": 25.0, "sampling": "none", "max_output_tokens": 64000, "streaming": True}
    for model_id, fields in changes.items():
        doc["models"][model_id.replace("__", ".")] = {**doc["models"].get(model_id.replace("__", "."), {}), **fields}
    return doc


def config(config_id: str, model_id: str, **params) -> dict:
    return {"id": config_id, "model_id": model_id, "max_tokens": 1024, "system_prompt_version": "v1", **params}


# (planted configuration or catalog change, the rule its message must name). Each rule, each family.
CONFIG_VIOLATIONS = [
    (config("s45-both", SONNET_45, temperature=0.3, top_p=0.9), "sampling.one_of"),
    (config("h45-both", HAIKU_45, temperature=0.0, top_p=1.0), "sampling.one_of"),
    (config("future-temp", NO_SAMPLING_MODEL, temperature=0.3), "sampling.none"),
    (config("future-topp", NO_SAMPLING_MODEL, top_p=0.9), "sampling.none"),
    (config("h3-long", HAIKU_3, temperature=0.3, top_p=0.9, max_tokens=4097), "max_output_tokens"),
    (config("h35-long", HAIKU_35, temperature=0.3, max_tokens=8193), "max_output_tokens"),
    (config("nova-long", NOVA_LITE, temperature=0.3, max_tokens=10001), "max_output_tokens"),
    (config("s45-long", SONNET_45, temperature=0.3, max_tokens=64001), "max_output_tokens"),
    (config("custom-long", CUSTOM, temperature=0.3, max_tokens=5000), "max_output_tokens"),
    (config("gpt", "openai.gpt-9", temperature=0.3), "model.known"),
    (config("s45-us", "us." + SONNET_45, temperature=0.3), "invoke.profile"),  # a profile the catalog does not price
    (config("s35-eu", "eu." + SONNET_35_V2, temperature=0.3), "invoke.profile"),  # no such profile
]
CATALOG_VIOLATIONS = [
    ({SONNET_45: {"invoke": "model"}}, "invoke.on_demand"),  # profile-only model invoked by its bare id
    ({HAIKU_45: {"invoke": "model"}}, "invoke.on_demand"),
    ({SONNET_35_V2: {"invoke": "model"}}, "invoke.on_demand"),
    ({HAIKU_35: {"invoke": "eu"}}, "invoke.profile"),  # Haiku 3.5 has a us. profile only
    ({NOVA_LITE: {"profiles": ["mars"]}}, "invoke.profile"),
    ({CUSTOM: {"api": "grpc"}}, "sagemaker.api"),
    ({CUSTOM: {"payload": "raw"}}, "sagemaker.api"),
]


def validate_cli(tmp_path: Path, capsys, models: dict, configs: list[dict]) -> tuple[int, str]:
    models_path, configs_path = tmp_path / "models.yaml", tmp_path / "configs.yaml"
    models_path.write_text(yaml.safe_dump(models), encoding="utf-8")
    configs_path.write_text(yaml.safe_dump({"configurations": configs}), encoding="utf-8")
    code = main(["configs", "validate", "--models", str(models_path), "--configs", str(configs_path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_shipped_configurations_pass_every_rule(tmp_path, capsys):
    code, out = validate_cli(tmp_path, capsys, shipped_models(), yaml.safe_load((CONFIG_DIR / "configurations.yaml").read_text())["configurations"])
    assert code == 0, out
    assert "sonnet-4-5" in out and "global." + SONNET_45 in out and CUSTOM in out


@pytest.mark.parametrize("entry, rule", CONFIG_VIOLATIONS, ids=[e["id"] for e, _ in CONFIG_VIOLATIONS])
def test_each_planted_configuration_violation_is_refused_naming_its_rule(tmp_path, capsys, entry, rule):
    code, out = validate_cli(tmp_path, capsys, models_with(), [config("fine", NOVA_LITE, temperature=0.3, top_p=0.9), entry])
    assert code == 2, out
    assert f"'{entry['id']}'" in out and f"rule '{rule}'" in out and "Traceback" not in out


@pytest.mark.parametrize("change, rule", CATALOG_VIOLATIONS, ids=[f"{next(iter(c))}-{r}" for c, r in CATALOG_VIOLATIONS])
def test_each_planted_catalog_violation_is_refused_naming_its_rule(tmp_path, capsys, change, rule):
    code, out = validate_cli(tmp_path, capsys, models_with(**{k.replace(".", "__"): v for k, v in change.items()}),
                             [config("fine", NOVA_LITE, temperature=0.3)])
    assert code == 2, out
    assert f"model '{next(iter(change))}'" in out and f"rule '{rule}'" in out


def test_rule_table_size():
    assert len(CONFIG_VIOLATIONS) + len(CATALOG_VIOLATIONS) >= 12
    assert {r for _, r in CONFIG_VIOLATIONS + CATALOG_VIOLATIONS} >= {
        "sampling.one_of", "sampling.none", "max_output_tokens", "model.known", "invoke.profile", "invoke.on_demand", "sagemaker.api"}


def test_evaluate_refuses_a_rule_breaking_configuration_before_any_call(tmp_path, capsys, starter):
    configs_path = tmp_path / "configs.yaml"
    configs_path.write_text(yaml.safe_dump({"configurations": [config("s45-both", SONNET_45, temperature=0.3, top_p=0.9)]}))
    with running_double(**NO_FAULTS) as double:
        code = main(["evaluate", "--config-file", str(configs_path), "--configs", "s45-both", "--dataset", "v0", "--limit", "2",
                     "--endpoint-url", double.url, "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
        assert double_stats(double.url)["total_calls"] == 0
    out = capsys.readouterr()
    assert code == 2 and "rule 'sampling.one_of'" in out.err


def test_streaming_asked_of_a_model_that_does_not_stream_is_refused(tmp_path):
    from mangaeval.engine import EngineSettings, EvaluationEngine
    from mangaeval.errors import ConfigError

    engine = EvaluationEngine(BedrockClient(ClientSettings(endpoint_url="http://127.0.0.1:9")), load_model_catalog(),
                              EngineSettings(use_cache=False, stream=True))
    with pytest.raises(ConfigError, match="rule 'streaming'"):
        engine.evaluate([load_configurations()["custom-sagemaker"]], [], run_id="r", dataset_version="v0")


# --- the request builder, per family -----------------------------------------------------------------------------

@pytest.mark.parametrize("config_id, expected", [
    ("sonnet-4-5", {"maxTokens": 1024, "temperature": 0.3}),
    ("haiku-4-5", {"maxTokens": 1024, "temperature": 0.3}),
    ("sonnet-3-5-v2", {"maxTokens": 1024, "temperature": 0.3, "topP": 0.9}),
    ("haiku-3", {"maxTokens": 1024, "temperature": 0.3, "topP": 0.9}),
    ("nova-lite", {"maxTokens": 1024, "temperature": 0.3, "topP": 0.9}),
])
def test_request_builder_sends_only_what_each_family_accepts(starter, config_id, expected):
    assert build_request(load_configurations()[config_id], starter.cases[0])["inferenceConfig"] == expected


def test_request_builder_sends_no_sampling_for_a_model_that_refuses_it(starter):
    bare = ModelConfig("future", NO_SAMPLING_MODEL, None, None, 2048, "v1")
    assert build_request(bare, starter.cases[0])["inferenceConfig"] == {"maxTokens": 2048}


def test_candidate_without_sampling_gets_only_what_its_model_accepts():
    from mangaeval.pipeline.params import validate_params

    plan = validate_params({"configs": [], "candidate": {"id": "s45-new", "model_id": SONNET_45}})
    candidate = next(c for c in plan.configs if c.id == "s45-new")
    assert candidate.temperature == 0.3 and candidate.top_p is None


# --- the double refuses what the service refuses, worded as the service words it ---------------------------------

def raw_client(url: str):
    return boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1", aws_access_key_id="t",
                        aws_secret_access_key="t", config=boto3.session.Config(retries={"total_max_attempts": 1}))


@pytest.fixture(scope="module")
def planted_double(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "models.yaml"
    path.write_text(yaml.safe_dump(models_with()), encoding="utf-8")
    catalog = load_model_catalog(path)
    profiles = load_profiles(models_path=path, overrides=NO_FAULTS)
    with DoubleInThread(seed=3, time_scale=0, profiles=profiles, catalog=catalog) as server:
        yield server


def messages(*roles_texts):
    return [{"role": role, "content": [{"text": text}]} for role, text in roles_texts]


REFUSALS = [
    ("unknown model id", "anthropic.claude-99", {}, "The provided model identifier is invalid."),
    ("profile-only model by bare id", SONNET_45, {},
     f"Invocation of model ID {SONNET_45} with on-demand throughput isn\u2019t supported. Retry your request with the ID or ARN "
     "of an inference profile that contains this model."),
    ("profile-only 3.5 Sonnet v2 by bare id in us-east-1", SONNET_35_V2, {}, "with on-demand throughput isn\u2019t supported"),
    ("a geography the model has no profile in", "eu." + HAIKU_35, {}, "The provided model identifier is invalid."),
    ("temperature and topP together on Sonnet 4.5", "global." + SONNET_45, {"inferenceConfig": {"maxTokens": 50, "temperature": 0.3, "topP": 0.9}},
     "The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one."),
    ("temperature and topP together on Haiku 4.5", "us." + HAIKU_45, {"inferenceConfig": {"maxTokens": 50, "temperature": 0.3, "topP": 0.9}},
     "cannot both be specified"),
    ("temperature on a model that refuses sampling", "global." + NO_SAMPLING_MODEL, {"inferenceConfig": {"maxTokens": 50, "temperature": 0.3}},
     "The model returned the following errors: `temperature` is deprecated for this model."),
    ("maxTokens above the limit", "us." + HAIKU_35, {"inferenceConfig": {"maxTokens": 9000}},
     "The maximum tokens you requested exceeds the model limit of 8192. Try again with a maximum tokens value that is lower than 8192."),
    ("first message not user", NOVA_LITE, {"messages": messages(("assistant", "hi"), ("user", "hello"))},
     "A conversation must start with a user message. Try again with a conversation that starts with a user message."),
    ("roles not alternating", NOVA_LITE, {"messages": messages(("user", "hi"), ("user", "hello"))},
     "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and "
     "assistant roles and try again."),
    ("empty content", HAIKU_3, {"messages": messages(("user", "hi"), ("assistant", "   "), ("user", "and?"))},
     "The text field in the ContentBlock object at messages.1.content.0 is blank. Add text to the text field, and try again."),
]


@pytest.mark.parametrize("what, model_id, change, message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_double_refuses_as_bedrock_does(planted_double, starter, what, model_id, change, message):
    request = {**build_request(load_configurations()["nova-lite"], starter.cases[0]), "inferenceConfig": {"maxTokens": 50}, **change}
    client = raw_client(planted_double.url)
    with pytest.raises(client.exceptions.ValidationException) as err:
        client.converse(modelId=model_id, **request)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert message in err.value.response["Error"]["Message"]


def test_profiles_and_on_demand_ids_are_accepted(planted_double, starter):
    client = raw_client(planted_double.url)
    for model_id, config_id in (("global." + SONNET_45, "sonnet-4-5"), ("us." + SONNET_45, "sonnet-4-5"), (HAIKU_3, "haiku-3"),
                                ("us." + HAIKU_3, "haiku-3"), ("global." + NO_SAMPLING_MODEL, None)):
        request = build_request(load_configurations()[config_id] if config_id else ModelConfig("f", NO_SAMPLING_MODEL, None, None, 1024, "v1"),
                                starter.cases[0])
        assert client.converse(modelId=model_id, **request)["stopReason"] == "end_turn", model_id


# --- injected faults, as the service sends them, through the client's retry and classification ---------------------

FAULTS = [  # (override, status, error type, words of the message, retry class: attempts with max_attempts=3, model_error_attempts=2)
    ("throttle_rate", 429, "ThrottlingException", "Too many requests", 3),
    ("timeout_rate", 408, "ModelTimeoutException", "Model has timed out", 2),
    ("unavailable_rate", 503, "ServiceUnavailableException", "unable to process your request", 3),
    ("model_error_rate", 424, "ModelErrorException", "unexpected error", 2),
    ("internal_error_rate", 500, "InternalServerException", "internal error", 3),
]


@pytest.mark.parametrize("override, status, error_type, words, attempts", FAULTS, ids=[f[2] for f in FAULTS])
def test_each_fault_as_the_service_sends_it(starter, override, status, error_type, words, attempts):
    request = build_request(load_configurations()["nova-lite"], starter.cases[0])
    with running_double(**{**NO_FAULTS, override: 1.0}) as double:
        with pytest.raises(Exception) as err:
            raw_client(double.url).converse(modelId=NOVA_LITE, **request)
        assert type(err.value).__name__ == error_type
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status and words in err.value.response["Error"]["Message"]
        client = BedrockClient(ClientSettings(endpoint_url=double.url, max_attempts=3, model_error_attempts=2), sleep=lambda s: None)
        before = double_stats(double.url)["total_calls"]
        result = client.converse(NOVA_LITE, request)
        assert result.status == "error" and result.error_code == error_type and words in result.error_message
        assert result.attempts == attempts == double_stats(double.url)["total_calls"] - before


def test_validation_errors_are_never_retried(starter):
    with running_double(**NO_FAULTS) as double:
        client = BedrockClient(ClientSettings(endpoint_url=double.url), sleep=lambda s: None)
        result = client.converse(SONNET_45, build_request(load_configurations()["sonnet-4-5"], starter.cases[0]))
        assert result.error_code == "ValidationException" and result.attempts == 1 == double_stats(double.url)["total_calls"]


def test_exception_event_in_the_middle_of_a_stream(starter):
    request = build_request(load_configurations()["haiku-4-5"], starter.cases[0])
    with running_double(**{**NO_FAULTS, "stream_error_rate": 1.0}) as double:
        response = raw_client(double.url).converse_stream(modelId="global." + HAIKU_45, **request)
        seen = []
        with pytest.raises(Exception) as err:
            for event in response["stream"]:
                seen.append(next(iter(event)))
        assert "contentBlockDelta" in seen and "messageStop" not in seen  # the stream had started, then broke off
        assert err.value.response["Error"]["Code"] in {"modelStreamErrorException", "throttlingException",
                                                       "internalServerException", "serviceUnavailableException"}
        client = BedrockClient(ClientSettings(endpoint_url=double.url, max_attempts=2, model_error_attempts=2), sleep=lambda s: None)
        result = client.converse("global." + HAIKU_45, request, stream=True)
        assert result.status == "error" and result.attempts == 2  # retried as the class of its exception event
        assert result.error_code in {"ModelStreamErrorException", "ThrottlingException", "InternalServerException", "ServiceUnavailableException"}


@pytest.mark.parametrize("override, stop_reason", [("guardrail_rate", "guardrail_intervened"), ("content_filter_rate", "content_filtered")])
@pytest.mark.parametrize("stream", [False, True])
def test_stop_reasons_beyond_end_turn_carry_usage(starter, override, stop_reason, stream):
    request = build_request(load_configurations()["sonnet-4-5"], starter.cases[0])
    with running_double(**{**NO_FAULTS, override: 1.0}) as double:
        result = BedrockClient(ClientSettings(endpoint_url=double.url)).converse("global." + SONNET_45, request, stream=stream)
    assert result.status == "ok" and result.stop_reason == stop_reason
    assert result.input_tokens > 100 and result.output_tokens > 0


def test_stats_count_refusals_by_type(planted_double, starter):
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(planted_double.url + "/_double/reset", data=b"", method="POST")).read()
    client = BedrockClient(ClientSettings(endpoint_url=planted_double.url), sleep=lambda s: None)
    client.converse(SONNET_45, build_request(load_configurations()["sonnet-4-5"], starter.cases[0]))
    assert json.loads(urllib.request.urlopen(planted_double.url + "/_double/stats").read())["refused"] == {"ValidationException": 1}
