"""The scoring policy (include/config/scoring.yaml): gate, critical cap and per-intent weights, validated on load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mangaeval.errors import ConfigError
from mangaeval.intents import intent_names
from mangaeval.paths import CONFIG_DIR

DIMENSIONS = ("relevance", "factual_accuracy", "completeness", "language_match", "format_length", "safety_policy")


@dataclass(frozen=True)
class ScoringConfig:
    gate: float
    critical_cap: float
    judge_weight: float
    verbosity_tolerance: float
    weights: dict[str, dict[str, float]]  # intent -> dimension -> weight (every intent present)

    def weights_for(self, intent: str) -> dict[str, float]:
        return self.weights.get(intent) or self.weights["default"]


def _number(doc: dict[str, Any], key: str, where: str, lo: float, hi: float, problems: list[str]) -> float:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{where}: '{key}' must be a number in [{lo}, {hi}], got {value!r}")
        return lo
    if not lo <= value <= hi:
        problems.append(f"{where}: '{key}' = {value} is out of range [{lo}, {hi}]")
    return float(value)


def load_scoring_config(path: Path | None = None) -> ScoringConfig:
    path = Path(path or CONFIG_DIR / "scoring.yaml")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([f"{path}: cannot read scoring policy ({exc})"]) from None
    problems: list[str] = []
    gate = _number(doc, "gate", str(path), 0.0, 1.0, problems)
    cap = _number(doc, "critical_cap", str(path), 0.0, 1.0, problems)
    judge_weight = _number(doc, "judge_weight", str(path), 0.0, 10.0, problems)
    tolerance = _number(doc, "verbosity_tolerance", str(path), 1.0, 100.0, problems)
    if not problems and cap >= gate:
        problems.append(f"{path}: critical_cap {cap} must be below the gate {gate}, or critical failures could pass")
    raw = doc.get("weights")
    weights: dict[str, dict[str, float]] = {}
    if not isinstance(raw, dict) or "default" not in raw:
        problems.append(f"{path}: 'weights' must map intents (and 'default') to dimension weights")
        raw = {}
    known = set(intent_names()) | {"default"}
    for intent, dims in raw.items():
        where = f"{path}: weights.{intent}"
        if intent not in known:
            problems.append(f"{where}: unknown intent (known: {', '.join(sorted(known))})")
            continue
        if not isinstance(dims, dict):
            problems.append(f"{where}: must map dimensions to weights")
            continue
        unknown = sorted(set(dims) - set(DIMENSIONS))
        missing = sorted(set(DIMENSIONS) - set(dims))
        if unknown:
            problems.append(f"{where}: unknown dimension(s) {unknown} (known: {', '.join(DIMENSIONS)})")
        if missing:
            problems.append(f"{where}: missing weight(s) for {missing}")
        for dim in set(dims) & set(DIMENSIONS):
            _number(dims, dim, where, 0.0, 1.0, problems)
        if not unknown and not missing and sum(float(v) for v in dims.values() if isinstance(v, (int, float))) <= 0:
            problems.append(f"{where}: weights must not all be zero")
        weights[intent] = {d: float(dims.get(d, 0.0)) if isinstance(dims.get(d), (int, float)) else 0.0 for d in DIMENSIONS}
    if problems:
        raise ConfigError(problems)
    for intent in intent_names():
        weights.setdefault(intent, weights["default"])
    return ScoringConfig(gate=gate, critical_cap=cap, judge_weight=judge_weight, verbosity_tolerance=tolerance, weights=weights)
