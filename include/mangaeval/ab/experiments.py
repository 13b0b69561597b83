"""Experiment definitions (include/config/experiments.yaml), validated on load, with documented defaults."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from mangaeval.errors import ConfigError
from mangaeval.paths import CONFIG_DIR

METRICS = ("quality", "latency_ms", "cost_usd", "error_rate", "cart_add", "escalated", "continued", "duration_s")
GUARDRAIL_METRICS = ("escalated", "error_rate", "latency_ms", "latency_p95_ms", "cost_usd", "continued", "cart_add", "duration_s")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True)
class Guardrail:
    metric: str
    relative_margin: float | None = None
    absolute_margin: float | None = None

    def margin(self, control_mean: float) -> float:
        if self.absolute_margin is not None:
            return self.absolute_margin
        return abs(control_mean) * float(self.relative_margin or 0.0)


@dataclass(frozen=True)
class Experiment:
    id: str
    control_config_id: str
    treatment_config_id: str
    treatment_share: float
    salt: str
    start_time: datetime
    min_samples_per_arm: int
    alpha: float
    min_effect: float
    max_duration_days: float
    max_cost_increase_usd: float
    srm_p_value: float
    latency_sla_p95_ms: float
    allow_automation: bool
    goal_metrics: tuple[str, ...]
    guardrails: tuple[Guardrail, ...]
    intents: tuple[str, ...] = ()
    registered: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def end_time(self) -> datetime:
        return self.start_time + timedelta(days=self.max_duration_days)

    def to_public_dict(self) -> dict[str, Any]:
        """What the chatbot needs to assign sessions (published as experiments/current.json)."""
        return {"id": self.id, "control_config_id": self.control_config_id, "treatment_config_id": self.treatment_config_id,
                "treatment_share": self.treatment_share, "salt": self.salt, "start_time": _iso(self.start_time),
                "end_time": _iso(self.end_time), "intents": list(self.intents)}

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["start_time"] = _iso(self.start_time)
        return doc


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: Any, where: str, problems: list[str]) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            problems.append(f"{where}: start_time {value!r} is not an ISO-8601 time")
            return datetime(1970, 1, 1, tzinfo=timezone.utc)
    if parsed.tzinfo is None:
        problems.append(f"{where}: start_time {value!r} has no time zone (use ...Z for UTC)")
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _build(spec: dict[str, Any], defaults: dict[str, Any], where: str, problems: list[str], registered: bool = True) -> Experiment | None:
    merged = {**defaults, **spec}
    before = len(problems)
    for key in ("id", "control_config_id", "treatment_config_id"):
        if not isinstance(merged.get(key), str) or not _ID.match(merged[key]):
            problems.append(f"{where}: {key} {merged.get(key)!r} must be an id of letters, digits, '-', '_', '.'")
    if merged.get("control_config_id") == merged.get("treatment_config_id") and registered:
        problems.append(f"{where}: control and treatment are the same configuration {merged.get('control_config_id')!r}")

    def number(key: str, low: float, high: float, *, open_low: bool = False, open_high: bool = False) -> float:
        value = merged.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{where}: {key} {value!r} must be a number")
            return low
        if value < low or value > high or (open_low and value == low) or (open_high and value == high):
            problems.append(f"{where}: {key} {value!r} is out of range {'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}")
        return float(value)

    share = number("treatment_share", 0.0, 1.0, open_low=True, open_high=True)
    alpha = number("alpha", 0.0, 0.5, open_low=True)
    min_effect = number("min_effect", 0.0, 1.0, open_low=True)
    max_days = number("max_duration_days", 0.0, 365.0, open_low=True)
    max_cost = number("max_cost_increase_usd", 0.0, 1.0)
    srm = number("srm_p_value", 0.0, 0.5, open_low=True)
    sla = number("latency_sla_p95_ms", 0.0, 600_000.0, open_low=True)
    min_samples = merged.get("min_samples_per_arm")
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 2:
        problems.append(f"{where}: min_samples_per_arm {min_samples!r} must be a whole number >= 2")
        min_samples = 2
    goals = merged.get("goal_metrics") or []
    unknown = [g for g in goals if g not in METRICS]
    if unknown or not goals:
        problems.append(f"{where}: goal_metrics {goals!r}: each must be one of {list(METRICS)} (and at least one)")
    if "quality" not in goals:
        problems.append(f"{where}: goal_metrics must include quality (decisions are about quality first)")
    guardrails = []
    for metric, rule in (merged.get("guardrails") or {}).items():
        rule = rule or {}
        if metric not in GUARDRAIL_METRICS:
            problems.append(f"{where}: guardrail {metric!r} is not one of {list(GUARDRAIL_METRICS)}")
            continue
        rel, absolute = rule.get("relative_margin"), rule.get("absolute_margin")
        if (rel is None) == (absolute is None) or any(v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0)
                                                        for v in (rel, absolute)):
            problems.append(f"{where}: guardrail {metric!r} needs exactly one of relative_margin / absolute_margin, >= 0")
            continue
        guardrails.append(Guardrail(metric, rel, absolute))
    salt = merged.get("salt", merged.get("id"))
    if not isinstance(salt, str) or not salt:
        problems.append(f"{where}: salt {salt!r} must be a non-empty string")
    start = _time(merged.get("start_time", "1970-01-01T00:00:00Z"), where, problems)
    if len(problems) > before:
        return None
    return Experiment(id=merged["id"], control_config_id=merged["control_config_id"], treatment_config_id=merged["treatment_config_id"],
                      treatment_share=share, salt=salt, start_time=start, min_samples_per_arm=min_samples, alpha=alpha,
                      min_effect=min_effect, max_duration_days=max_days, max_cost_increase_usd=max_cost, srm_p_value=srm,
                      latency_sla_p95_ms=sla, allow_automation=bool(merged.get("allow_automation", False)),
                      goal_metrics=tuple(goals), guardrails=tuple(guardrails), intents=tuple(merged.get("intents") or ()),
                      registered=registered)


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([f"{path}: cannot read experiments ({exc})"]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("defaults", {}), dict) or not isinstance(doc.get("experiments", []), list):
        raise ConfigError([f"{path}: expected 'defaults' (a mapping) and 'experiments' (a list)"])
    return doc


def load_defaults(path: Path | None = None) -> dict[str, Any]:
    return dict(_read(Path(path or CONFIG_DIR / "experiments.yaml")).get("defaults") or {})


def load_experiments(path: Path | None = None) -> dict[str, Experiment]:
    path = Path(path or CONFIG_DIR / "experiments.yaml")
    doc = _read(path)
    defaults = doc.get("defaults") or {}
    problems: list[str] = []
    experiments: dict[str, Experiment] = {}
    for index, spec in enumerate(doc.get("experiments") or []):
        where = f"{path}: experiment #{index + 1} ({spec.get('id') if isinstance(spec, dict) else spec!r})"
        if not isinstance(spec, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        experiment = _build(spec, defaults, where, problems)
        if experiment is None:
            continue
        if experiment.id in experiments:
            problems.append(f"{where}: duplicate experiment id {experiment.id!r}")
        experiments[experiment.id] = experiment
    if problems:
        raise ConfigError(problems)
    return experiments


def experiment_for(experiment_id: str, treatment_share: float | None = None, path: Path | None = None,
                   start_time: datetime | None = None) -> Experiment:
    """The registered experiment (its share overridden if given), or the documented defaults for an unknown id
    (whose start time is `start_time`: the first event seen, when analysing files)."""
    path = Path(path or CONFIG_DIR / "experiments.yaml")
    known = load_experiments(path)
    problems: list[str] = []
    if experiment_id in known:
        spec = {k: v for k, v in known[experiment_id].to_dict().items() if k not in ("registered", "extra")}
        spec["guardrails"] = {g["metric"]: {k: v for k, v in g.items() if k != "metric" and v is not None} for g in spec["guardrails"]}
        registered = True
    else:
        spec = {"id": experiment_id, "control_config_id": "control", "treatment_config_id": "treatment", "salt": experiment_id}
        registered = False
    if treatment_share is not None:
        spec["treatment_share"] = treatment_share
    if start_time is not None and not registered:
        spec["start_time"] = start_time if start_time.tzinfo else start_time.replace(tzinfo=timezone.utc)
    built = _build(spec, load_defaults(path), f"experiment {experiment_id!r}", problems, registered=registered)
    if problems or built is None:
        raise ConfigError(problems)
    return built
