"""The routing policy (include/config/routing_policy.yaml) and the traffic mix (intents.yaml), validated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mangaeval.errors import ConfigError
from mangaeval.intents import load_intents
from mangaeval.paths import CONFIG_DIR

NUMBERS = {"min_pass_rate": (0, 1), "sla_p95_ms": (1, 600000), "max_error_rate": (0, 1), "non_inferiority_margin": (0, 1),
           "messages_per_day": (0, 1e12), "days_per_month": (1, 31)}


@dataclass(frozen=True)
class RoutingPolicy:
    min_pass_rate: float
    sla_p95_ms: float
    max_error_rate: float
    non_inferiority_margin: float
    messages_per_day: float
    days_per_month: float
    baseline_config_id: str
    default_config_id: str

    def row(self, run_id: str) -> dict[str, Any]:
        return {"run_id": run_id, **self.__dict__}


def load_policy(path: Path | None = None) -> RoutingPolicy:
    path = Path(path or CONFIG_DIR / "routing_policy.yaml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems = []
    for name, (low, high) in NUMBERS.items():
        value = doc.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            problems.append(f"{path}: '{name}' must be a number in [{low}, {high}], got {value!r}")
    for name in ("baseline_config_id", "default_config_id"):
        if not isinstance(doc.get(name), str) or not doc.get(name):
            problems.append(f"{path}: '{name}' must be a configuration id")
    if problems:
        raise ConfigError(problems)
    return RoutingPolicy(**{k: float(doc[k]) for k in NUMBERS}, baseline_config_id=doc["baseline_config_id"],
                         default_config_id=doc["default_config_id"])


def intent_mix_rows(run_id: str, intents: list[str] | None = None) -> list[dict[str, Any]]:
    return [{"run_id": run_id, "intent": name, "traffic_share": i.traffic_share, "cache_hit_rate": i.cache_hit_rate}
            for name, i in load_intents().items() if intents is None or name in intents]
