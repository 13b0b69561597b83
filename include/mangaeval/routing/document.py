"""The routing document: per intent, the configuration to serve with its figures and the reason; canonical
JSON (sorted keys, fixed rounding) so the same decisions always give the same bytes.

The live bot reads `routes[intent]` (config_id, model_id, parameters) and `default`. Documents built by the
routing ledger also say, per route, who set it (`set_by`), whether it is held against nightly decisions
(`held`: why, or null), on which dataset its figures were measured and where they came from, and the
all-premium baseline's cost on the intent (for the projection); `ledger_version` names the ledger entry."""

from __future__ import annotations

import json
from typing import Any

from mangaeval.errors import MangaEvalError
from mangaeval.models import ModelConfig

SCHEMA_VERSION = 1
ROUTE_FIELDS = ("config_id", "model_id", "parameters", "mean_quality", "pass_rate", "latency_p95_ms", "mean_cost_usd", "reason", "flagged")
ROUNDING = {"mean_quality": 6, "pass_rate": 6, "latency_p95_ms": 1, "mean_cost_usd": 9}
FIGURES = tuple(ROUNDING)


class InvalidRouting(MangaEvalError):
    pass


def config_block(config: ModelConfig) -> dict[str, Any]:
    return {"config_id": config.id, "model_id": config.model_id,
            "parameters": {"temperature": config.temperature, "top_p": config.top_p, "max_tokens": config.max_tokens,
                           "system_prompt_version": config.system_prompt_version}}


def _round(name: str, value: Any) -> Any:
    return None if value is None else round(float(value), ROUNDING[name])


def make_route(config: ModelConfig, figures: dict[str, Any] | None, reason: str, *, set_by: dict[str, Any], flagged: bool = False,
               held: str | None = None, dataset_version: str | None = None, figures_from: str | None = None,
               baseline_cost_usd: float | None = None) -> dict[str, Any]:
    """One route as the ledger writes it: the configuration, its figures (None where unmeasured) and provenance."""
    figures = figures or {}
    return {**config_block(config), **{name: _round(name, figures.get(name)) for name in FIGURES}, "reason": reason,
            "flagged": bool(flagged), "set_by": set_by, "held": held, "dataset_version": dataset_version,
            "figures_from": figures_from, "baseline_cost_usd": _round("mean_cost_usd", baseline_cost_usd)}


def genesis_document(intents: list[str], configurations: dict[str, ModelConfig], default_config_id: str, at: str) -> dict[str, Any]:
    """The state before any decision: every intent of the mix on the default configuration, nothing measured."""
    if default_config_id not in configurations:
        raise InvalidRouting(f"default configuration '{default_config_id}' is not a known configuration")
    default = configurations[default_config_id]
    routes = {i: make_route(default, None, "no decision yet: the default configuration", set_by={"kind": "genesis", "id": "genesis", "at": at},
                            flagged=True) for i in sorted(intents)}
    document = {"schema_version": SCHEMA_VERSION, "run_id": "genesis", "dataset_version": "none", "generated_at": at,
                "ledger_version": 0, "routes": routes, "default": config_block(default)}
    validate_document(document)
    return document


def build_document(run_id: str, dataset_version: str, generated_at: str, recommendation: dict[str, dict[str, Any]],
                   configurations: dict[str, ModelConfig], default_config_id: str) -> dict[str, Any]:
    """From `decide()`'s recommendation (where the SQL already fell back to current routing or the default)."""
    if default_config_id not in configurations:
        raise InvalidRouting(f"default configuration '{default_config_id}' is not a known configuration")
    routes = {}
    for intent, rec in sorted(recommendation.items()):
        config_id = rec.get("config_id") or default_config_id
        if config_id not in configurations:
            raise InvalidRouting(f"route '{intent}': configuration '{config_id}' is not in configurations.yaml")
        routes[intent] = {**config_block(configurations[config_id]),
                          **{name: _round(name, rec.get(name) if rec.get("config_id") else None) for name in ROUNDING},
                          "reason": rec.get("reason") or "no decision", "flagged": bool(rec.get("flagged")) or not rec.get("config_id")}
    document = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "dataset_version": dataset_version,
                "generated_at": generated_at, "routes": routes, "default": config_block(configurations[default_config_id])}
    validate_document(document)
    return document


def validate_document(doc: Any) -> None:
    problems = []
    if not isinstance(doc, dict):
        raise InvalidRouting("routing document must be a JSON object")
    if doc.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema_version must be {SCHEMA_VERSION}, got {doc.get('schema_version')!r}")
    for name in ("run_id", "dataset_version", "generated_at"):
        if not isinstance(doc.get(name), str) or not doc.get(name):
            problems.append(f"'{name}' must be a non-empty string")
    routes = doc.get("routes")
    if not isinstance(routes, dict) or not routes:
        problems.append("'routes' must map at least one intent to a route")
        routes = {}
    for intent, route in routes.items():
        missing = [f for f in ROUTE_FIELDS if not isinstance(route, dict) or f not in route]
        if missing:
            problems.append(f"route '{intent}': missing {missing}")
            continue
        for name in ("mean_quality", "pass_rate"):
            value = route[name]
            if value is not None and not 0 <= value <= 1:
                problems.append(f"route '{intent}': '{name}' = {value} is out of [0, 1]")
        for name in ("latency_p95_ms", "mean_cost_usd", "baseline_cost_usd"):
            if route.get(name) is not None and route[name] < 0:
                problems.append(f"route '{intent}': '{name}' must not be negative")
        if route.get("held") is not None and not isinstance(route["held"], str):
            problems.append(f"route '{intent}': 'held' must be null or the reason the route is held")
        if "set_by" in route and not (isinstance(route["set_by"], dict) and route["set_by"].get("kind")):
            problems.append(f"route '{intent}': 'set_by' must name who set the route ({{kind, id, at}})")
    default = doc.get("default")
    if not isinstance(default, dict) or not default.get("config_id") or not default.get("model_id"):
        problems.append("'default' must name a configuration (config_id, model_id, parameters) for unknown intents")
    if problems:
        raise InvalidRouting("invalid routing document: " + "; ".join(problems))


def to_bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def from_bytes(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRouting(f"{where}: not a JSON routing document ({exc})") from None
    validate_document(doc)
    return doc
