"""Trigger parameters of the nightly DAG: defaults for scheduled runs, every bad parameter named."""

from __future__ import annotations

import pytest

from mangaeval.golden import DEFAULT_VERSION
from mangaeval.pipeline.params import DEFAULT_CONFIGS, ParamError, RunPlan, validate_params
from mangaeval.pipeline.shards import chunk, chunks_by_tier, plan_shards


def test_scheduled_defaults():
    plan = validate_params({})
    assert [c.id for c in plan.configs] == DEFAULT_CONFIGS
    assert len(plan.intents) == 8 and plan.dataset_version == DEFAULT_VERSION == "v2" and plan.limit is None and plan.use_cache
    assert RunPlan.from_dict(plan.to_dict()) == plan


def test_candidate_is_added_and_production_configs_joined():
    plan = validate_params({"configs": ["haiku-3-5"], "candidate": {"id": "haiku-4-5-t0", "model_id": "anthropic.claude-haiku-4-5-20251001-v1:0",
                                                                    "temperature": 0.0}},
                           extra_config_ids=["sonnet-3-5-v2"])
    assert [c.id for c in plan.configs] == ["haiku-3-5", "haiku-4-5-t0", "sonnet-3-5-v2"]
    assert plan.candidate_id == "haiku-4-5-t0" and plan.configs[1].temperature == 0.0


@pytest.mark.parametrize("params, message", [
    ({"configs": ["gpt-5"]}, "'configs': unknown configuration id(s) ['gpt-5']"),
    ({"configs": "sonnet-3-5-v2,nope"}, "unknown configuration id(s) ['nope']"),
    ({"configs": [1]}, "'configs' must be a list of non-empty strings"),
    ({"candidate": {"id": "x", "model_id": "openai.gpt-9"}}, "'candidate': unknown model 'openai.gpt-9'"),
    ({"candidate": {"id": "x", "model_id": "amazon.nova-lite-v1:0", "temperature": 3}}, "'candidate': 'temperature' = 3.0 is out of range"),
    ({"candidate": {"id": "x", "model_id": "amazon.nova-lite-v1:0", "max_tokens": 10**6}}, "exceeds the limit"),
    ({"candidate": {"id": "sonnet-4-5", "model_id": "amazon.nova-lite-v1:0"}}, "already a different configuration"),
    ({"candidate": "fast one"}, "'candidate' must be an object"),
    ({"intents": ["weather"]}, "'intents': unknown intent(s) ['weather']"),
    ({"limit": 0}, "'limit' must be a positive number"),
    ({"limit": "10"}, "'limit' must be a positive number"),
    ({"use_cache": "yes"}, "'use_cache' must be true or false"),
    ({"dataset_version": "v99"}, "'dataset_version' 'v99'"),
    ({"colour": "blue"}, "unknown parameter(s) ['colour']"),
    ({"configs": []}, "at least one configuration"),
])
def test_every_bad_parameter_gets_its_message(params, message):
    with pytest.raises(ParamError) as err:
        validate_params(params)
    assert message in str(err.value)


def test_all_problems_reported_at_once():
    with pytest.raises(ParamError) as err:
        validate_params({"configs": ["gpt-5"], "limit": -1, "intents": ["x"]})
    assert len(err.value.problems) == 3


def test_shards_and_chunking_respect_max_map_length():
    plan = validate_params({})
    shards = plan_shards(plan)
    assert len(shards) == 5 * 8 and {s["tier"] for s in shards} == {"sonnet", "haiku", "nova", "custom"}
    by_tier = chunks_by_tier(shards, max_map_length=3)
    assert all(len(chunks) <= 3 for chunks in by_tier.values()) and sum(len(c) for c in by_tier["custom"]) == 8
    assert sum(len(c) for chunks in by_tier.values() for c in chunks) == 40
    assert chunk(list(range(10)), 4) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert chunk(list(range(3)), 1024) == [[0], [1], [2]]
