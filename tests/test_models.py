"""Model catalog, prices and configuration validation."""

from __future__ import annotations

import pytest

from mangaeval.errors import ConfigError
from mangaeval.models import load_configurations, load_model_catalog, select_configurations


def test_shipped_catalog_and_configurations_are_valid():
    catalog = load_model_catalog()
    configs = load_configurations(catalog=catalog)
    assert {"sonnet-3-5-v2", "haiku-3-5"} <= set(configs)
    assert all(c.model_id in catalog for c in configs.values())


@pytest.mark.parametrize(
    "model_id, input_tokens, output_tokens, expected",
    [
        # hand-computed: tokens x USD per 1M tokens / 1e6
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", 1500, 240, 1500 * 3.00 / 1e6 + 240 * 15.00 / 1e6),  # $0.0081
        ("anthropic.claude-3-5-haiku-20241022-v1:0", 1500, 240, 0.0012 + 0.00096),
        ("anthropic.claude-3-haiku-20240307-v1:0", 1_000_000, 1_000_000, 0.25 + 1.25),
        ("amazon.nova-micro-v1:0", 2000, 100, 0.00007 + 0.000014),
        ("amazon.nova-pro-v1:0", 0, 0, 0.0),
    ],
)
def test_price_arithmetic(model_id, input_tokens, output_tokens, expected):
    assert load_model_catalog()[model_id].cost_usd(input_tokens, output_tokens) == pytest.approx(expected, abs=1e-12)


def test_field_figure_sonnet_recommendation_cost():
    # MISSION.md: Sonnet 3.5 v2 costs ~$0.0081 per recommendation request at ~1,500 in / 240 out tokens.
    assert load_model_catalog()["anthropic.claude-3-5-sonnet-20241022-v2:0"].cost_usd(1500, 240) == pytest.approx(0.0081)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_model_names_file_and_entry(tmp_path):
    path = write(tmp_path, "configs.yaml", """
configurations:
  - {id: good, model_id: amazon.nova-lite-v1:0, temperature: 0.3, top_p: 0.9, max_tokens: 512, system_prompt_version: v1}
  - {id: mystery, model_id: openai.gpt-9, temperature: 0.3, top_p: 0.9, max_tokens: 512, system_prompt_version: v1}
""")
    with pytest.raises(ConfigError) as err:
        load_configurations(path)
    message = str(err.value)
    assert str(path) in message and "configuration #2 'mystery'" in message and "unknown model 'openai.gpt-9'" in message


def test_parameters_out_of_range_are_all_reported(tmp_path):
    path = write(tmp_path, "configs.yaml", """
configurations:
  - {id: hot, model_id: amazon.nova-lite-v1:0, temperature: 1.7, top_p: 0.9, max_tokens: 512, system_prompt_version: v1}
  - {id: long, model_id: amazon.nova-lite-v1:0, temperature: 0.3, top_p: -0.1, max_tokens: 999999, system_prompt_version: v1}
  - {id: noprompt, model_id: amazon.nova-lite-v1:0, temperature: 0.3, top_p: 0.9, max_tokens: "many", system_prompt_version: v9}
  - {id: hot, model_id: amazon.nova-lite-v1:0, temperature: 0.3, top_p: 0.9, max_tokens: 10, system_prompt_version: v1}
""")
    with pytest.raises(ConfigError) as err:
        load_configurations(path)
    problems = err.value.problems
    assert any("'hot'" in p and "temperature" in p and "out of range" in p for p in problems)
    assert any("'long'" in p and "top_p" in p for p in problems)
    assert any("'long'" in p and "exceeds the limit" in p for p in problems)
    assert any("'noprompt'" in p and "max_tokens" in p for p in problems)
    assert any("'noprompt'" in p and "system_prompt_version 'v9'" in p for p in problems)
    assert any("duplicate configuration id 'hot'" in p for p in problems)


def test_missing_price_names_the_model(tmp_path):
    path = write(tmp_path, "models.yaml", """
models:
  cheap.model-v1: {kind: bedrock, tier: haiku, input_usd_per_mtok: 0.1, max_output_tokens: 1000}
  free.model-v1: {kind: bedrock, tier: haiku, input_usd_per_mtok: -1, output_usd_per_mtok: 0.2, max_output_tokens: 1000}
""")
    with pytest.raises(ConfigError) as err:
        load_model_catalog(path)
    message = str(err.value)
    assert "model 'cheap.model-v1': missing price 'output_usd_per_mtok'" in message
    assert "model 'free.model-v1'" in message and "non-negative" in message


def test_unknown_configuration_id_is_rejected():
    with pytest.raises(ConfigError, match="unknown configuration id"):
        select_configurations(load_configurations(), ["sonnet-3-5-v2", "gpt-5"])
