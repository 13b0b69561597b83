"""Model catalog (prices, limits) and model configurations, loaded from YAML and validated.

Every problem names the file and the entry, and all are raised before any model is called.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from mangaeval.errors import ConfigError
from mangaeval.paths import CONFIG_DIR, PROMPTS_DIR

MODEL_KINDS = ("bedrock", "sagemaker")


@dataclass(frozen=True)
class ModelSpec:
    model_id: str
    kind: str
    family: str
    tier: str
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    max_output_tokens: int

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        """Price of one call from its recorded token counts."""
        return (input_tokens * self.input_usd_per_mtok + output_tokens * self.output_usd_per_mtok) / 1_000_000


@dataclass(frozen=True)
class ModelConfig:
    id: str
    model_id: str
    temperature: float
    top_p: float
    max_tokens: int
    system_prompt_version: str

    def inference_params(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML ({exc})"]) from None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def load_model_catalog(path: Path | None = None) -> dict[str, ModelSpec]:
    path = Path(path or CONFIG_DIR / "models.yaml")
    doc = _read_yaml(path)
    entries = (doc or {}).get("models") if isinstance(doc, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ConfigError([f"{path}: expected a non-empty mapping under 'models'"])
    problems: list[str] = []
    catalog: dict[str, ModelSpec] = {}
    for model_id, spec in entries.items():
        where = f"{path}: model '{model_id}'"
        if not isinstance(spec, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        for price_field in ("input_usd_per_mtok", "output_usd_per_mtok"):
            if price_field not in spec:
                problems.append(f"{where}: missing price '{price_field}'")
            elif _number(spec[price_field]) is None or spec[price_field] < 0:
                problems.append(f"{where}: '{price_field}' must be a non-negative number, got {spec[price_field]!r}")
        limit = spec.get("max_output_tokens")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
            problems.append(f"{where}: 'max_output_tokens' must be a positive integer, got {limit!r}")
        kind = spec.get("kind", "bedrock")
        if kind not in MODEL_KINDS:
            problems.append(f"{where}: 'kind' must be one of {MODEL_KINDS}, got {kind!r}")
        if any(p.startswith(where) for p in problems):
            continue
        catalog[str(model_id)] = ModelSpec(
            model_id=str(model_id),
            kind=kind,
            family=str(spec.get("family", model_id)),
            tier=str(spec.get("tier", "unknown")),
            input_usd_per_mtok=float(spec["input_usd_per_mtok"]),
            output_usd_per_mtok=float(spec["output_usd_per_mtok"]),
            max_output_tokens=int(limit),
        )
    if problems:
        raise ConfigError(problems)
    return catalog


def available_prompt_versions(prompts_dir: Path | None = None) -> set[str]:
    prompts_dir = Path(prompts_dir or PROMPTS_DIR)
    if not prompts_dir.is_dir():
        return set()
    return {p.name for p in prompts_dir.iterdir() if (p / "system.txt").is_file() and (p / "user.txt").is_file()}


def validate_config_entry(
    entry: Any, where: str, catalog: dict[str, ModelSpec], prompt_versions: set[str]
) -> tuple[ModelConfig | None, list[str]]:
    """Validate one configuration mapping; returns (config or None, problems)."""
    if not isinstance(entry, dict):
        return None, [f"{where}: expected a mapping, got {type(entry).__name__}"]
    problems: list[str] = []
    config_id = entry.get("id")
    if not isinstance(config_id, str) or not config_id.strip():
        problems.append(f"{where}: 'id' must be a non-empty string")
    model_id = entry.get("model_id")
    if not isinstance(model_id, str) or not model_id:
        problems.append(f"{where}: 'model_id' must be a non-empty string")
    elif model_id not in catalog:
        problems.append(f"{where}: unknown model '{model_id}' (not in the model catalog, so it has no price)")
    for name, low, high in (("temperature", 0.0, 1.0), ("top_p", 0.0, 1.0)):
        value = _number(entry.get(name))
        if value is None:
            problems.append(f"{where}: '{name}' must be a number, got {entry.get(name)!r}")
        elif not low <= value <= high:
            problems.append(f"{where}: '{name}' = {value} is out of range [{low}, {high}]")
    max_tokens = entry.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens <= 0:
        problems.append(f"{where}: 'max_tokens' must be a positive integer, got {max_tokens!r}")
    elif isinstance(model_id, str) and model_id in catalog and max_tokens > catalog[model_id].max_output_tokens:
        problems.append(
            f"{where}: 'max_tokens' = {max_tokens} exceeds the limit of '{model_id}' "
            f"({catalog[model_id].max_output_tokens})"
        )
    version = entry.get("system_prompt_version")
    if not isinstance(version, str) or not version:
        problems.append(f"{where}: 'system_prompt_version' must be a non-empty string")
    elif prompt_versions and version not in prompt_versions:
        problems.append(
            f"{where}: unknown system_prompt_version '{version}' (have: {', '.join(sorted(prompt_versions))})"
        )
    unknown = set(entry) - {"id", "model_id", "temperature", "top_p", "max_tokens", "system_prompt_version"}
    if unknown:
        problems.append(f"{where}: unknown field(s) {sorted(unknown)}")
    if problems:
        return None, problems
    return (
        ModelConfig(
            id=config_id,
            model_id=model_id,
            temperature=float(entry["temperature"]),
            top_p=float(entry["top_p"]),
            max_tokens=int(max_tokens),
            system_prompt_version=version,
        ),
        [],
    )


def load_configurations(
    path: Path | None = None,
    catalog: dict[str, ModelSpec] | None = None,
    prompts_dir: Path | None = None,
) -> dict[str, ModelConfig]:
    path = Path(path or CONFIG_DIR / "configurations.yaml")
    catalog = catalog if catalog is not None else load_model_catalog()
    doc = _read_yaml(path)
    entries = doc.get("configurations") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError([f"{path}: expected a non-empty list under 'configurations'"])
    prompt_versions = available_prompt_versions(prompts_dir)
    problems: list[str] = []
    configs: dict[str, ModelConfig] = {}
    seen_ids: set[str] = set()
    for index, entry in enumerate(entries):
        label = entry.get("id") if isinstance(entry, dict) else None
        where = f"{path}: configuration #{index + 1}" + (f" '{label}'" if label else "")
        config, entry_problems = validate_config_entry(entry, where, catalog, prompt_versions)
        problems.extend(entry_problems)
        if isinstance(label, str):
            if label in seen_ids:
                problems.append(f"{where}: duplicate configuration id '{label}'")
                continue
            seen_ids.add(label)
        if config is not None:
            configs[config.id] = config
    if problems:
        raise ConfigError(problems)
    return configs


def select_configurations(configs: dict[str, ModelConfig], ids: Iterable[str]) -> list[ModelConfig]:
    ids = list(ids)
    unknown = [i for i in ids if i not in configs]
    if unknown:
        raise ConfigError([f"unknown configuration id(s): {', '.join(unknown)} (known: {', '.join(configs)})"])
    return [configs[i] for i in ids]
