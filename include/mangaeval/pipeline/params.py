"""Trigger parameters of the `model_evaluation` DAG, validated into a run plan before any model is called.

Airflow's `Param` JSON schema checks shapes at trigger time; this checks meaning (known configurations,
a candidate whose model exists and whose parameters are in range, known intents, a valid dataset) and
reports every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mangaeval.errors import ConfigError, DatasetError, MangaEvalError
from mangaeval.golden import DEFAULT_SAMPLE_SEED, DEFAULT_VERSION, sample_seed_problem
from mangaeval.intents import intent_names
from mangaeval.models import (ModelConfig, available_prompt_versions, default_sampling, load_configurations, load_model_catalog,
                              resolve_model, validate_config_entry)

# What a scheduled run evaluates, one per tier and more: two Sonnet-class, Haiku 3.5, Nova Lite and the custom SageMaker model.
DEFAULT_CONFIGS = ["sonnet-3-5-v2", "sonnet-4-5", "haiku-3-5", "nova-lite", "custom-sagemaker"]
DEFAULT_DATASET = DEFAULT_VERSION
DEFAULTS: dict[str, Any] = {
    "configs": DEFAULT_CONFIGS,
    "candidate": None,
    "intents": [],          # empty = every intent
    "dataset_version": DEFAULT_DATASET,
    "limit": None,          # cases per intent; None = all
    "sample_seed": DEFAULT_SAMPLE_SEED,  # which cases a limit samples (stratified by language and tags)
    "use_cache": True,      # retries and reruns of this run reuse what it already paid for; a new run asks again
    "reuse_answers": False,  # also reuse answers measured by earlier runs (recorded per row; latency never reused)
}


class ParamError(MangaEvalError):
    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("bad trigger parameters:\n" + "\n".join(f"  - {p}" for p in self.problems))


@dataclass(frozen=True)
class RunPlan:
    configs: list[ModelConfig]
    intents: list[str]
    dataset_version: str
    limit: int | None
    use_cache: bool
    candidate_id: str | None = None
    sample_seed: int = DEFAULT_SAMPLE_SEED
    reuse_answers: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"configs": [c.to_dict() for c in self.configs], "intents": self.intents, "dataset_version": self.dataset_version,
                "limit": self.limit, "sample_seed": self.sample_seed, "use_cache": self.use_cache, "candidate_id": self.candidate_id,
                "reuse_answers": self.reuse_answers}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "RunPlan":
        configs = [ModelConfig(**c) for c in doc["configs"]]
        return cls(configs, list(doc["intents"]), doc["dataset_version"], doc["limit"], bool(doc["use_cache"]), doc.get("candidate_id"),
                   int(doc.get("sample_seed", DEFAULT_SAMPLE_SEED)), bool(doc.get("reuse_answers", False)))


def _string_list(value: Any, name: str, problems: list[str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"'{name}' must be a list of non-empty strings, got {value!r}")
        return []
    return list(dict.fromkeys(value))


def validate_params(raw: dict[str, Any], *, extra_config_ids: list[str] | None = None) -> RunPlan:
    """A run plan from trigger parameters (missing keys take the scheduled defaults), or ParamError.

    `extra_config_ids`: configurations that must be evaluated too (tonight's production routing), so a
    candidate is compared against what serves traffic now.
    """
    params = {**DEFAULTS, **{k: v for k, v in (raw or {}).items()}}
    problems: list[str] = []
    unknown_keys = sorted(set(params) - set(DEFAULTS))
    if unknown_keys:
        problems.append(f"unknown parameter(s) {unknown_keys} (known: {', '.join(DEFAULTS)})")
    try:
        catalog = load_model_catalog()
        known = load_configurations(None, catalog)
    except ConfigError as exc:
        raise ParamError(exc.problems) from None

    config_ids = _string_list(params["configs"], "configs", problems)
    unknown = [c for c in config_ids if c not in known]
    if unknown:
        problems.append(f"'configs': unknown configuration id(s) {unknown} (known: {', '.join(known)})")
    configs = [known[c] for c in config_ids if c in known]

    candidate_id = None
    candidate = params["candidate"]
    if candidate not in (None, {}, ""):
        if not isinstance(candidate, dict):
            problems.append(f"'candidate' must be an object with id, model_id, temperature, top_p, max_tokens, system_prompt_version; got {candidate!r}")
        else:
            spec = resolve_model(str(candidate.get("model_id")), catalog)
            sampling = default_sampling(spec) if spec and not {"temperature", "top_p"} & set(candidate) else {}
            entry = {**sampling, "max_tokens": 1024, "system_prompt_version": "v1", **candidate}
            config, entry_problems = validate_config_entry(entry, "'candidate'", catalog, available_prompt_versions())
            problems.extend(entry_problems)
            if config is not None:
                if config.id in known and known[config.id] != config:
                    problems.append(f"'candidate': id '{config.id}' is already a different configuration; choose a new id")
                elif config.id not in config_ids:
                    configs.append(config)
                candidate_id = config.id
    for extra in extra_config_ids or []:
        if extra in known and extra not in {c.id for c in configs}:
            configs.append(known[extra])
    if not configs and not problems:
        problems.append("'configs': at least one configuration (or a candidate) is required")

    intents = _string_list(params["intents"], "intents", problems) or list(intent_names())
    bad_intents = [i for i in intents if i not in intent_names()]
    if bad_intents:
        problems.append(f"'intents': unknown intent(s) {bad_intents} (known: {', '.join(intent_names())})")

    limit = params["limit"]
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        problems.append(f"'limit' must be a positive number of cases per intent or null, got {limit!r}")
    sample_seed = params["sample_seed"]
    seed_problem = sample_seed_problem(sample_seed)
    if seed_problem:
        problems.append(seed_problem)
    for flag in ("use_cache", "reuse_answers"):
        if not isinstance(params[flag], bool):
            problems.append(f"'{flag}' must be true or false, got {params[flag]!r}")
    if params["reuse_answers"] is True and params["use_cache"] is False:
        problems.append("'reuse_answers' needs 'use_cache' (answers are reused through the response cache)")

    version = params["dataset_version"]
    if not isinstance(version, str) or not version:
        problems.append(f"'dataset_version' must be a dataset version name such as 'v1', got {version!r}")
    else:
        from mangaeval.golden import load_dataset

        try:
            load_dataset(version)
        except DatasetError as exc:
            problems.append(f"'dataset_version' {version!r}: " + "; ".join(exc.problems[:5]))
    if problems:
        raise ParamError(problems)
    return RunPlan(configs, intents, version, limit, params["use_cache"], candidate_id, sample_seed, params["reuse_answers"])
