"""Model catalog (prices, limits) and model configurations, loaded from YAML and validated.

Every problem names the file and the entry, and all are raised before any model is called.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable


from mangaeval.errors import ConfigError
from mangaeval.paths import CONFIG_DIR, PROMPTS_DIR
from mangaeval.yamlfile import read_yaml

MODEL_KINDS = ("bedrock", "sagemaker")
SAGEMAKER_APIS = ("converse", "invoke_endpoint")  # Bedrock Marketplace endpoint via Converse | InvokeEndpoint
SAGEMAKER_PAYLOADS = ("messages",)  # the chat-completions messages API of the TGI and LMI containers
SAMPLING_MODES = ("both", "one_of", "none")
# Prefixes of system-defined cross-region inference profiles (`<geo>.<model id>`).
GEOGRAPHIES = ("us", "eu", "apac", "global", "jp", "au", "ca", "us-gov")

# Every rule a configuration or catalog entry can break, by name: messages cite the name, tests plant each one.
RULES = {
    "model.known": "the model is in the catalog (so it has a price and rules)",
    "invoke.on_demand": "a model Bedrock does not serve on demand in the region is invoked through an inference profile",
    "invoke.profile": "the invoked inference profile is one the model has, in a known geography",
    "sampling.one_of": "the model accepts temperature or top_p, not both",
    "sampling.none": "the model accepts neither temperature nor top_p",
    "max_output_tokens": "max_tokens is within the model's output-token limit",
    "streaming": "streaming is asked only of a model that streams",
    "sagemaker.api": "a SageMaker model names how it is called (converse or invoke_endpoint) and its payload",
}


def rule_problem(where: str, rule: str, detail: str) -> str:
    return f"{where}: {detail} [rule '{rule}': {RULES[rule]}]"


@dataclass(frozen=True)
class ModelSpec:
    model_id: str
    kind: str
    family: str
    tier: str
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    max_output_tokens: int
    on_demand: bool = True
    profiles: tuple[str, ...] = ()
    invoke: str = "model"  # "model" (the bare id) or a geography of `profiles`
    sampling: str = "both"
    streaming: bool = True
    api: str = "converse"  # how it is called: Converse, or (SageMaker) InvokeEndpoint
    payload: str | None = None

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        """Price of one call from its recorded token counts."""
        return (input_tokens * self.input_usd_per_mtok + output_tokens * self.output_usd_per_mtok) / 1_000_000

    @property
    def invoke_id(self) -> str:
        """The id a request goes to: the inference profile where the model needs one, else the model id."""
        return self.model_id if self.invoke == "model" else f"{self.invoke}.{self.model_id}"

    @property
    def endpoint_name(self) -> str | None:
        """The SageMaker endpoint name of an `invoke_endpoint` model (the last part of its ARN)."""
        return self.model_id.rsplit("/", 1)[-1] if self.api == "invoke_endpoint" else None

    def accepted_sampling(self) -> tuple[str, ...]:
        return () if self.sampling == "none" else ("temperature", "top_p")

    def sampling_problems(self, temperature: float | None, top_p: float | None, where: str) -> list[str]:
        given = [name for name, value in (("temperature", temperature), ("top_p", top_p)) if value is not None]
        if self.sampling == "one_of" and len(given) == 2:
            return [rule_problem(where, "sampling.one_of", f"'{self.model_id}' ({self.family}) refuses temperature and top_p "
                                 "together (Bedrock: 400 ValidationException); set only one of them")]
        if self.sampling == "none" and given:
            return [rule_problem(where, "sampling.none", f"'{self.model_id}' ({self.family}) refuses {' and '.join(given)} "
                                 "(Bedrock: 400 ValidationException); leave them unset")]
        return []


@dataclass(frozen=True)
class ModelConfig:
    id: str
    model_id: str
    temperature: float | None
    top_p: float | None
    max_tokens: int
    system_prompt_version: str

    def inference_params(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_yaml(path: Path) -> Any:
    return read_yaml(path)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _spec_problems(spec: dict[str, Any], where: str) -> list[str]:
    """Everything wrong with one catalog entry, each invocation rule named."""
    problems: list[str] = []
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
    if spec.get("sampling", "both") not in SAMPLING_MODES:
        problems.append(f"{where}: 'sampling' must be one of {SAMPLING_MODES}, got {spec.get('sampling')!r}")
    for flag in ("on_demand", "streaming"):
        if not isinstance(spec.get(flag, True), bool):
            problems.append(f"{where}: '{flag}' must be true or false, got {spec.get(flag)!r}")
    profiles = spec.get("profiles", [])
    if not isinstance(profiles, list) or any(p not in GEOGRAPHIES for p in profiles):
        problems.append(rule_problem(where, "invoke.profile", f"'profiles' must list geographies among {GEOGRAPHIES}, got {profiles!r}"))
        profiles = []
    invoke = spec.get("invoke", "model")
    if invoke == "model":
        if spec.get("on_demand", True) is False:
            problems.append(rule_problem(where, "invoke.on_demand", "the bare model id cannot be invoked on demand; set 'invoke' "
                                         f"to one of its inference profiles {profiles or '(none listed: add them)'}"))
    elif invoke not in profiles:
        problems.append(rule_problem(where, "invoke.profile", f"'invoke: {invoke}' is not one of the model's inference profiles {profiles}"))
    if kind == "sagemaker":
        api = spec.get("api")
        if api not in SAGEMAKER_APIS:
            problems.append(rule_problem(where, "sagemaker.api", f"'api' must be one of {SAGEMAKER_APIS}, got {api!r}"))
        elif api == "invoke_endpoint" and spec.get("payload") not in SAGEMAKER_PAYLOADS:
            problems.append(rule_problem(where, "sagemaker.api", f"'payload' must be one of {SAGEMAKER_PAYLOADS}, got {spec.get('payload')!r}"))
    elif spec.get("api", "converse") != "converse":
        problems.append(rule_problem(where, "sagemaker.api", f"a Bedrock model is called through Converse, got 'api: {spec.get('api')}'"))
    known = {"kind", "family", "tier", "input_usd_per_mtok", "output_usd_per_mtok", "max_output_tokens", "on_demand",
             "profiles", "invoke", "sampling", "streaming", "api", "payload"}
    if set(spec) - known:
        problems.append(f"{where}: unknown field(s) {sorted(set(spec) - known)}")
    return problems


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
        entry_problems = _spec_problems(spec, where)
        problems.extend(entry_problems)
        if entry_problems:
            continue
        kind = spec.get("kind", "bedrock")
        catalog[str(model_id)] = ModelSpec(
            model_id=str(model_id),
            kind=kind,
            family=str(spec.get("family", model_id)),
            tier=str(spec.get("tier", "unknown")),
            input_usd_per_mtok=float(spec["input_usd_per_mtok"]),
            output_usd_per_mtok=float(spec["output_usd_per_mtok"]),
            max_output_tokens=int(spec["max_output_tokens"]),
            on_demand=bool(spec.get("on_demand", True)),
            profiles=tuple(spec.get("profiles", [])),
            invoke=str(spec.get("invoke", "model")),
            sampling=str(spec.get("sampling", "both")),
            streaming=bool(spec.get("streaming", True)),
            api=str(spec.get("api", "converse")),
            payload=spec.get("payload"),
        )
    if problems:
        raise ConfigError(problems)
    return catalog


def resolve_model(model_id: str, catalog: dict[str, ModelSpec]) -> ModelSpec | None:
    """The catalog entry a configuration's `model_id` names: the model id, or the inference profile we invoke."""
    if model_id in catalog:
        return catalog[model_id]
    return next((spec for spec in catalog.values() if spec.invoke_id == model_id), None)


def available_prompt_versions(prompts_dir: Path | None = None) -> set[str]:
    prompts_dir = Path(prompts_dir or PROMPTS_DIR)
    if not prompts_dir.is_dir():
        return set()
    return {p.name for p in prompts_dir.iterdir() if (p / "system.txt").is_file() and (p / "user.txt").is_file()}


def _model_problems(model_id: str, catalog: dict[str, ModelSpec], where: str) -> tuple[ModelSpec | None, list[str]]:
    spec = resolve_model(model_id, catalog)
    if spec is not None:
        return spec, []
    geo, _, bare = model_id.partition(".")
    if geo in GEOGRAPHIES and bare in catalog:
        return None, [rule_problem(where, "invoke.profile", f"'{model_id}' is an inference profile the catalog does not price; "
                                   f"the catalog invokes '{catalog[bare].invoke_id}' (change 'invoke' in models.yaml to use another)")]
    return None, [rule_problem(where, "model.known", f"unknown model '{model_id}' (not in the model catalog, so it has no price)")]


def validate_config_entry(
    entry: Any, where: str, catalog: dict[str, ModelSpec], prompt_versions: set[str], *, stream: bool = False
) -> tuple[ModelConfig | None, list[str]]:
    """Validate one configuration mapping against the catalog's invocation rules; returns (config or None, problems).

    `temperature` and `top_p` are optional (unset = the model's default); which of them may be set is the model's
    `sampling` rule. A configuration that names the model's inference profile is stored under the model id.
    """
    if not isinstance(entry, dict):
        return None, [f"{where}: expected a mapping, got {type(entry).__name__}"]
    problems: list[str] = []
    config_id = entry.get("id")
    if not isinstance(config_id, str) or not config_id.strip():
        problems.append(f"{where}: 'id' must be a non-empty string")
    model_id = entry.get("model_id")
    spec = None
    if not isinstance(model_id, str) or not model_id:
        problems.append(f"{where}: 'model_id' must be a non-empty string")
    else:
        spec, model_problems = _model_problems(model_id, catalog, where)
        problems.extend(model_problems)
    sampling: dict[str, float | None] = {}
    for name, low, high in (("temperature", 0.0, 1.0), ("top_p", 0.0, 1.0)):
        raw = entry.get(name)
        if raw is None:
            sampling[name] = None
            continue
        value = _number(raw)
        if value is None:
            problems.append(f"{where}: '{name}' must be a number or unset, got {raw!r}")
        elif not low <= value <= high:
            problems.append(f"{where}: '{name}' = {value} is out of range [{low}, {high}]")
        sampling[name] = value
    if spec is not None:
        problems.extend(spec.sampling_problems(sampling["temperature"], sampling["top_p"], where))
        if stream and not spec.streaming:
            problems.append(rule_problem(where, "streaming", f"'{spec.model_id}' ({spec.family}) does not stream; run without streaming"))
    max_tokens = entry.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens <= 0:
        problems.append(f"{where}: 'max_tokens' must be a positive integer, got {max_tokens!r}")
    elif spec is not None and max_tokens > spec.max_output_tokens:
        problems.append(rule_problem(where, "max_output_tokens", f"'max_tokens' = {max_tokens} exceeds the limit of "
                                     f"'{spec.model_id}' ({spec.max_output_tokens})"))
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
            model_id=spec.model_id,
            temperature=sampling["temperature"],
            top_p=sampling["top_p"],
            max_tokens=int(max_tokens),
            system_prompt_version=version,
        ),
        [],
    )


def config_problems(config: ModelConfig, catalog: dict[str, ModelSpec], where: str, *, stream: bool = False) -> list[str]:
    """The rules an already-built configuration breaks (a run re-checks what it will send, e.g. with streaming)."""
    return validate_config_entry(config.to_dict(), where, catalog, set(), stream=stream)[1]


def default_sampling(spec: ModelSpec) -> dict[str, float]:
    """What a new configuration gets when it names no sampling parameter: what the model accepts, nothing more."""
    return {} if spec.sampling == "none" else {"temperature": 0.3} if spec.sampling == "one_of" else {"temperature": 0.3, "top_p": 0.9}


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
