"""The canary policy (include/config/canary.yaml): stages, windows, warm-up, the judge's thresholds, the
power its minimum sample is derived from and what the plan assumes before any traffic, validated on load so a
bad file fails before any traffic moves, with every problem named."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from mangaeval.errors import ConfigError
from mangaeval.paths import CONFIG_DIR


DEFAULT_MAX_STAGE_MINUTES = 1440.0


@dataclass(frozen=True)
class Stage:
    index: int  # 1-based
    traffic_pct: float
    window_minutes: float  # watched before the first look
    max_minutes: float = DEFAULT_MAX_STAGE_MINUTES  # the longest the stage may run (window + extensions) before a HOLD rolls back


@dataclass(frozen=True)
class CanaryPolicy:
    stages: tuple[Stage, ...]
    warmup_requests: int = 500
    extension_minutes: float = 30.0
    min_requests_per_side: int = 100  # a floor under the power-based minimum (see power.py)
    power: float = 0.8  # each test's target power at its margin: what the minimum sample is derived from
    watermark_timeout_minutes: float = 90.0
    alpha: float = 0.05
    fail_alpha_per_stage: float = 0.0125
    quality_max_relative_drop: float = 0.05
    quality_floor: float = 0.70
    latency_quantile: float = 0.95
    latency_max_ratio: float = 1.10
    latency_sla_ms: float = 3000.0
    bootstrap_resamples: int = 1000
    bootstrap_seed: int = 20261124
    error_ceiling: float = 0.05
    cost_budget_ratio: float = 1.20
    cloudwatch_namespace: str = "MangaAssist/Canary"
    # What the plan assumes of the baseline before any traffic (the judge uses what it observes).
    planning_quality_mean: float = 0.84
    planning_quality_sd: float = 0.09
    planning_latency_p50_ms: float = 1200.0
    planning_latency_p95_ms: float = 2100.0
    planning_error_rate: float = 0.005

    def stage(self, index: int) -> Stage:
        return self.stages[index - 1]

    def with_overrides(self, **values: Any) -> "CanaryPolicy":
        """A copy with some thresholds changed (CLI options, DAG parameters), validated like the file."""
        merged = replace(self, **{k: v for k, v in values.items() if v is not None})
        problems = _check(merged, "overrides")
        if problems:
            raise ConfigError(problems)
        return merged

    def to_dict(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        doc["stages"] = [s.__dict__ for s in self.stages]
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "CanaryPolicy":
        return cls(**{**doc, "stages": tuple(Stage(**s) for s in doc["stages"])})


# name in the file (dotted) -> (field, low, high, kind)
_FIELDS = {
    "warmup_requests": ("warmup_requests", 0, 1_000_000, int),
    "hold.extension_minutes": ("extension_minutes", 0, 24 * 60, float),
    "min_requests_per_side": ("min_requests_per_side", 1, 100_000_000, int),
    "power.target": ("power", 0.5, 0.999, float),
    "events.watermark_timeout_minutes": ("watermark_timeout_minutes", 0, 24 * 60, float),
    "alpha": ("alpha", 1e-6, 0.5, float),
    "fail_alpha_per_stage": ("fail_alpha_per_stage", 1e-6, 0.5, float),
    "quality.max_relative_drop": ("quality_max_relative_drop", 0, 1, float),
    "quality.floor": ("quality_floor", 0, 1, float),
    "latency.quantile": ("latency_quantile", 0.5, 0.999, float),
    "latency.max_ratio": ("latency_max_ratio", 1, 100, float),
    "latency.sla_ms": ("latency_sla_ms", 1, 600_000, float),
    "latency.bootstrap_resamples": ("bootstrap_resamples", 100, 100_000, int),
    "latency.seed": ("bootstrap_seed", 0, 2**32 - 1, int),
    "error_rate.ceiling": ("error_ceiling", 0, 1, float),
    "cost.budget_ratio": ("cost_budget_ratio", 0, 100, float),
    "planning.quality_mean": ("planning_quality_mean", 0.01, 1, float),
    "planning.quality_sd": ("planning_quality_sd", 0.001, 1, float),
    "planning.latency_p50_ms": ("planning_latency_p50_ms", 1, 600_000, float),
    "planning.latency_p95_ms": ("planning_latency_p95_ms", 1, 600_000, float),
    "planning.error_rate": ("planning_error_rate", 0, 0.5, float),
}
# Keys that meant something once: a file still carrying them is told what replaced them, never silently ignored.
_REPLACED = {"hold.max_extensions": "each stage's 'max_minutes' (the longest the stage may run) bounds its extensions"}


def _lookup(doc: dict[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _number_ok(value: Any, low: float, high: float, kind: type) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if kind is int and not float(value).is_integer():
        return False
    return low <= value <= high


def _check(policy: CanaryPolicy, where: str) -> list[str]:
    problems = []
    for dotted, (name, low, high, kind) in _FIELDS.items():
        if not _number_ok(getattr(policy, name), low, high, kind):
            problems.append(f"{where}: '{dotted}' must be {'a whole number' if kind is int else 'a number'} in [{low}, {high}], "
                            f"got {getattr(policy, name)!r}")
    if policy.fail_alpha_per_stage > policy.alpha:
        problems.append(f"{where}: 'fail_alpha_per_stage' ({policy.fail_alpha_per_stage}) must not exceed 'alpha' ({policy.alpha})")
    problems += _check_planning(policy.planning_latency_p50_ms, policy.planning_latency_p95_ms, where)
    return problems + _check_stages(policy.stages, where)


def _check_planning(p50: Any, p95: Any, where: str) -> list[str]:
    if _number_ok(p50, 1, 600_000, float) and _number_ok(p95, 1, 600_000, float) and p95 <= p50:
        return [f"{where}: 'planning.latency_p95_ms' ({p95:g}) must be above 'planning.latency_p50_ms' ({p50:g})"]
    return []


def _check_stages(stages: tuple[Stage, ...] | list[Stage], where: str) -> list[str]:
    problems = []
    pcts = [s.traffic_pct for s in stages]
    if pcts != sorted(pcts) or len(set(pcts)) != len(pcts):
        problems.append(f"{where}: stage traffic_pct must strictly increase, got {pcts}")
    if pcts and pcts[-1] != 100:
        problems.append(f"{where}: the last stage must send 100% of the covered traffic to the candidate, got {pcts[-1]}")
    for s in stages:
        if s.max_minutes < s.window_minutes:
            problems.append(f"{where}: stage {s.index}: 'max_minutes' ({s.max_minutes:g}) must be at least its 'window_minutes' "
                            f"({s.window_minutes:g})")
    return problems


def load_policy(path: Path | str | None = None) -> CanaryPolicy:
    path = Path(path or CONFIG_DIR / "canary.yaml")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML ({exc})"]) from None
    if not isinstance(doc, dict):
        raise ConfigError([f"{path}: expected a mapping at the top level"])
    problems: list[str] = [f"{path}: '{old}' is no longer read: {new}" for old, new in _REPLACED.items()
                           if _lookup(doc, old) is not None]
    stages = []
    raw_stages = doc.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        problems.append(f"{path}: 'stages' must be a non-empty list of {{traffic_pct, window_minutes}}")
        raw_stages = []
    for number, entry in enumerate(raw_stages, start=1):
        pct = entry.get("traffic_pct") if isinstance(entry, dict) else None
        minutes = entry.get("window_minutes") if isinstance(entry, dict) else None
        longest = entry.get("max_minutes", DEFAULT_MAX_STAGE_MINUTES) if isinstance(entry, dict) else None
        if not _number_ok(pct, 0.01, 100, float):
            problems.append(f"{path}: stage {number}: 'traffic_pct' must be a number in (0, 100], got {pct!r}")
        if not _number_ok(minutes, 0, 24 * 60, float):
            problems.append(f"{path}: stage {number}: 'window_minutes' must be a number in [0, 1440], got {minutes!r}")
        if not _number_ok(longest, 0, 7 * 24 * 60, float):
            problems.append(f"{path}: stage {number}: 'max_minutes' must be a number in [0, 10080], got {longest!r}")
        if _number_ok(pct, 0.01, 100, float) and _number_ok(minutes, 0, 24 * 60, float) and _number_ok(longest, 0, 7 * 24 * 60, float):
            stages.append(Stage(number, float(pct), float(minutes), float(longest)))
    if len(stages) == len(raw_stages):
        problems += _check_stages(stages, str(path))
    values: dict[str, Any] = {}
    for dotted, (name, low, high, kind) in _FIELDS.items():
        value = _lookup(doc, dotted)
        if value is None:
            continue  # the dataclass default applies
        if not _number_ok(value, low, high, kind):
            problems.append(f"{path}: '{dotted}' must be {'a whole number' if kind is int else 'a number'} in [{low}, {high}], got {value!r}")
            continue
        values[name] = kind(value)
    namespace = _lookup(doc, "cloudwatch.namespace")
    if namespace is not None:
        if not isinstance(namespace, str) or not namespace or namespace.startswith("AWS/"):
            problems.append(f"{path}: 'cloudwatch.namespace' must be a non-empty name not starting with 'AWS/', got {namespace!r}")
        else:
            values["cloudwatch_namespace"] = namespace
    problems += _check_planning(values.get("planning_latency_p50_ms"), values.get("planning_latency_p95_ms"), str(path))
    if "alpha" in values and "fail_alpha_per_stage" in values and values["fail_alpha_per_stage"] > values["alpha"]:
        problems.append(f"{path}: 'fail_alpha_per_stage' ({values['fail_alpha_per_stage']}) must not exceed 'alpha' ({values['alpha']})")
    if problems:
        raise ConfigError(problems)
    policy = CanaryPolicy(stages=tuple(stages), **values)
    problems = _check(policy, str(path))  # what the defaults and the file give together
    if problems:
        raise ConfigError(problems)
    return policy
