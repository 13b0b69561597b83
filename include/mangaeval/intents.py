"""The intent catalog (include/config/intents.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from mangaeval.errors import ConfigError
from mangaeval.paths import CONFIG_DIR


@dataclass(frozen=True)
class Intent:
    name: str
    complexity: str
    token_budget: int
    traffic_share: float
    cache_hit_rate: float


COMPLEXITIES = ("low", "medium", "high")


@lru_cache(maxsize=8)
def load_intents(path: Path | None = None) -> dict[str, Intent]:
    path = Path(path or CONFIG_DIR / "intents.yaml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems: list[str] = []
    intents: dict[str, Intent] = {}
    for name, spec in (doc.get("intents") or {}).items():
        where = f"{path}: intent '{name}'"
        try:
            intent = Intent(
                name=name,
                complexity=str(spec["complexity"]),
                token_budget=int(spec["token_budget"]),
                traffic_share=float(spec["traffic_share"]),
                cache_hit_rate=float(spec["cache_hit_rate"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{where}: missing or invalid field ({exc})")
            continue
        if intent.complexity not in COMPLEXITIES:
            problems.append(f"{where}: complexity must be one of {COMPLEXITIES}")
        if not 0 <= intent.traffic_share <= 1 or not 0 <= intent.cache_hit_rate <= 1:
            problems.append(f"{where}: traffic_share and cache_hit_rate must be in [0, 1]")
        intents[name] = intent
    if not intents:
        problems.append(f"{path}: no intents defined")
    total = sum(i.traffic_share for i in intents.values())
    if intents and abs(total - 1.0) > 1e-6:
        problems.append(f"{path}: traffic shares sum to {total:.4f}, expected 1.0")
    if problems:
        raise ConfigError(problems)
    return intents


def intent_names() -> tuple[str, ...]:
    return tuple(load_intents())
