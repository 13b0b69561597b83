"""Model profiles of the double: latency, error rates and skill per intent, from YAML."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from mangaeval.errors import ConfigError
from mangaeval.models import load_model_catalog
from mangaeval.paths import CONFIG_DIR

NUMERIC_FIELDS = (
    "first_token_ms", "tokens_per_s", "jitter_ms", "cold_start_calls", "cold_start_penalty_ms",
    "throttle_rate", "timeout_rate", "unavailable_rate", "model_error_rate", "internal_error_rate", "verbosity",
    "guardrail_rate", "content_filter_rate", "stream_error_rate", "quota_rpm", "detail",
)
RATE_FIELDS = tuple(f for f in NUMERIC_FIELDS if f.endswith("_rate")) + ("verbosity", "detail")  # chances, as skill.*: [0, 1]
WHOLE_FIELDS = ("cold_start_calls",)  # counts; every other field is a duration or speed >= 0


def field_problem(name: str, value: Any) -> str | None:
    """What is wrong with a profile field's value (None: nothing): finite, >= 0, rates at most 1, counts whole."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{name} must be a finite number, got {value!r}"
    if (name in RATE_FIELDS or name.startswith("skill.")) and not 0 <= value <= 1:
        return f"{name} must be in [0, 1], got {value:g}"
    if value < 0:
        return f"{name} must be >= 0, got {value:g}"
    if name in WHOLE_FIELDS and value != int(value):
        return f"{name} must be a whole number, got {value:g}"
    return None


@dataclass(frozen=True)
class Profile:
    model_id: str
    max_output_tokens: int
    first_token_ms: float = 300.0
    tokens_per_s: float = 100.0  # 0 means output length adds no time
    jitter_ms: float = 0.0
    cold_start_calls: int = 0
    cold_start_penalty_ms: float = 0.0
    throttle_rate: float = 0.0
    timeout_rate: float = 0.0
    unavailable_rate: float = 0.0
    model_error_rate: float = 0.0
    internal_error_rate: float = 0.0  # 500 InternalServerException
    guardrail_rate: float = 0.0  # answered with stopReason guardrail_intervened (the guardrail's message, its usage)
    content_filter_rate: float = 0.0  # answered with stopReason content_filtered (output cut by the filter)
    stream_error_rate: float = 0.0  # a ConverseStream that breaks off with an exception event after it started
    quota_rpm: float = 0.0  # the account's requests/minute for the model, enforced with ThrottlingException (0: none)
    verbosity: float = 0.0  # chance of padding an otherwise good answer with generic sentences
    detail: float = 1.0  # share of explaining sentences kept (a model family's answer length; facts are never trimmed)
    skill: dict[str, float] = field(default_factory=lambda: {"default": 0.9})

    def skill_for(self, intent: str) -> float:
        return float(self.skill.get(intent, self.skill.get("default", 0.9)))


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **{k: v for k, v in extra.items() if k != "skill"}}
    merged["skill"] = {**base.get("skill", {}), **extra.get("skill", {})}
    return merged


def parse_overrides(pairs: list[str]) -> dict[str, float]:
    """`name=value` strings (from the command line) into profile overrides applied to every model."""
    overrides: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in NUMERIC_FIELDS:
            raise ConfigError([f"bad double override '{pair}': expected NAME=NUMBER with NAME in {', '.join(NUMERIC_FIELDS)}"])
        try:
            overrides[name] = float(value)
        except ValueError:
            raise ConfigError([f"bad double override '{pair}': '{value}' is not a number"]) from None
        problem = field_problem(name, overrides[name])
        if problem:
            raise ConfigError([f"bad double override '{pair}': {problem}"])
    return overrides


def load_profiles(
    path: Path | None = None, models_path: Path | None = None, overrides: dict[str, float] | None = None
) -> dict[str, Profile]:
    path = Path(path or CONFIG_DIR / "double_profiles.yaml")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read double profiles ({exc.strerror or exc})"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML ({exc})"]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("classes") or {}, dict) or not isinstance(doc.get("models") or {}, dict):
        raise ConfigError([f"{path}: expected a mapping with 'classes' (and optional 'models') mappings"])
    classes = doc.get("classes") or {}
    per_model = doc.get("models") or {}
    profiles: dict[str, Profile] = {}
    problems: list[str] = []
    for model_id, spec in load_model_catalog(models_path).items():
        if spec.tier not in classes:
            problems.append(f"{path}: no class '{spec.tier}' for model '{model_id}'")
            continue
        specs = (classes[spec.tier], per_model.get(model_id) or {})
        if not all(isinstance(s, dict) and isinstance(s.get("skill", {}), dict) for s in specs):
            problems.append(f"{path}: model '{model_id}': expected a mapping of field: number (skill: a mapping of intent: number)")
            continue
        merged = _merge(*specs)
        merged.update(overrides or {})
        unknown = set(merged) - set(NUMERIC_FIELDS) - {"skill"}
        if unknown:
            problems.append(f"{path}: model '{model_id}': unknown field(s) {sorted(unknown)}")
            continue
        bad = [field_problem(k, v) for k, v in merged.items() if k != "skill"]
        bad += [field_problem(f"skill.{intent}", v) for intent, v in merged["skill"].items()]
        bad = [p for p in bad if p]
        if bad:
            problems.extend(f"{path}: model '{model_id}': {p}" for p in bad)
            continue
        profile = Profile(model_id=model_id, max_output_tokens=spec.max_output_tokens,
                          **{k: v for k, v in merged.items() if k != "skill"}, skill=merged["skill"])
        profiles[model_id] = replace(profile, cold_start_calls=int(profile.cold_start_calls))
    if problems:
        raise ConfigError(problems)
    return profiles
