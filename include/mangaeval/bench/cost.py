"""Cost: measured per query type (the suite) and modelled from a query mix (`mangaeval cost estimate`).

Both use the projection's arithmetic (`routing.projection.billed_messages`: messages/day x share x days x (1 - cache
hit rate), the formula of mart_monthly_projection.sql) and the catalog's prices (`ModelSpec.cost_usd` from
include/config/models.yaml): the same figures the routing projection uses, never a copy of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mangaeval.errors import ConfigError, MangaEvalError
from mangaeval.routing.projection import billed_messages

DEFAULT_BATCH_FACTOR = 0.5  # Bedrock batch inference: about half the on-demand price (MISSION.md)


def _policy_volume() -> tuple[float, float]:
    from mangaeval.warehouse.policy import load_policy

    policy = load_policy()
    return policy.messages_per_day, policy.days_per_month


def per_query_type(ok_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Measured tokens and cost per query type (intent), the traffic-weighted cost per query, and what the response
    cache saves per month at each type's hit rate (intents.yaml) and the policy's volume."""
    from mangaeval.intents import load_intents

    intents = load_intents()
    per_day, days = _policy_volume()
    per_intent: dict[str, Any] = {}
    for name, intent in intents.items():
        mine = [r for r in ok_rows if r["intent"] == name]
        if not mine:
            continue
        cpq = sum(r["cost_usd"] for r in mine) / len(mine)
        with_cache = billed_messages(per_day, intent.traffic_share, days, intent.cache_hit_rate) * cpq
        without = billed_messages(per_day, intent.traffic_share, days, 0.0) * cpq
        per_intent[name] = {"n": len(mine), "input_tokens": sum(r["input_tokens"] for r in mine) / len(mine),
                            "output_tokens": sum(r["output_tokens"] for r in mine) / len(mine), "cost_per_query_usd": cpq,
                            "traffic_share": intent.traffic_share, "cache_hit_rate": intent.cache_hit_rate,
                            "monthly_usd": with_cache, "monthly_without_cache_usd": without, "cache_savings_monthly_usd": without - with_cache}
    measured_share = sum(v["traffic_share"] for v in per_intent.values())
    return {
        "per_intent": per_intent,
        "cost_per_query_usd": sum(r["cost_usd"] for r in ok_rows) / len(ok_rows) if ok_rows else None,
        "cost_per_query_traffic_weighted_usd": (sum(v["cost_per_query_usd"] * v["traffic_share"] for v in per_intent.values()) / measured_share
                                                if measured_share else None),
        "monthly_usd": sum(v["monthly_usd"] for v in per_intent.values()),
        "cache_savings_monthly_usd": sum(v["cache_savings_monthly_usd"] for v in per_intent.values()),
        "unmeasured_intents": sorted(set(intents) - set(per_intent)),
    }


def routing_savings(per_config: dict[str, Any], routing: dict[str, Any] | None) -> dict[str, Any]:
    """What the current routing saves per month against all-premium (the policy's baseline configuration on every
    intent), each intent at the measured cost per query of the configuration that serves it. An intent whose
    serving (or premium) configuration was not benchmarked is named, never counted as $0."""
    from mangaeval.warehouse.policy import load_policy

    premium = load_policy().baseline_config_id
    if not routing:
        return {"available": False, "why": "no routing table published (routing/current.json): run model_evaluation first",
                "premium_config_id": premium}
    if premium not in per_config:
        return {"available": False, "why": f"the all-premium configuration {premium} was not benchmarked (add it to --configs)",
                "premium_config_id": premium}
    routes = {intent: route["config_id"] for intent, route in routing.get("routes", {}).items()}
    rows, missing = [], []
    for intent, premium_row in per_config[premium]["cost"]["per_intent"].items():
        cid = routes.get(intent, (routing.get("default") or {}).get("config_id", premium))
        served = per_config.get(cid, {}).get("cost", {}).get("per_intent", {}).get(intent)
        if served is None:
            missing.append(f"{intent} ({cid})")
            continue
        rows.append({"intent": intent, "config_id": cid, "routed_monthly_usd": served["monthly_usd"],
                     "premium_monthly_usd": premium_row["monthly_usd"]})
    routed = sum(r["routed_monthly_usd"] for r in rows)
    prem = sum(r["premium_monthly_usd"] for r in rows)
    return {"available": True, "premium_config_id": premium, "ledger_version": routing.get("ledger_version"), "per_intent": rows,
            "routed_monthly_usd": routed, "premium_monthly_usd": prem, "savings_monthly_usd": prem - routed,
            "unmeasured": missing}


# The cost model --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueryType:
    name: str
    share: float
    input_tokens: float
    output_tokens: float
    model_id: str
    cache_hit_rate: float


def load_mix(path: Path) -> dict[str, Any]:
    """A query-mix file (include/config/cost_mix.yaml): query types, optional volume and batch factor; every problem
    named before anything is computed."""
    from mangaeval.models import load_model_catalog, resolve_model

    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise MangaEvalError(f"{path}: no such query-mix file") from None
    except yaml.YAMLError as exc:
        raise MangaEvalError(f"{path}: not valid YAML ({exc})") from None
    catalog = load_model_catalog()
    problems, types = [], []
    entries = doc.get("query_types") if isinstance(doc, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ConfigError([f"{path}: expected a mapping of query types under 'query_types'"])
    for name, e in entries.items():
        where = f"{path}: query type '{name}'"
        if not isinstance(e, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        for field, low, high in (("share", 0, 1), ("input_tokens", 0, 1e7), ("output_tokens", 0, 1e7), ("cache_hit_rate", 0, 1)):
            v = e.get(field)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
                problems.append(f"{where}: '{field}' must be a number in [{low:g}, {high:g}], got {v!r}")
        spec = resolve_model(str(e.get("model", "")), catalog)
        if spec is None:
            problems.append(f"{where}: unknown model {e.get('model')!r} (not in include/config/models.yaml, so it has no price)")
        if not problems:
            types.append(QueryType(str(name), float(e["share"]), float(e["input_tokens"]), float(e["output_tokens"]), spec.model_id,
                                   float(e["cache_hit_rate"])))
    total = sum(float(e.get("share", 0) or 0) for e in entries.values() if isinstance(e, dict))
    if not problems and abs(total - 1.0) > 1e-6:
        problems.append(f"{path}: the shares add up to {total:g}, not 1")
    if problems:
        raise ConfigError(problems)
    return {"query_types": types, "messages_per_day": doc.get("messages_per_day"), "days_per_month": doc.get("days_per_month"),
            "batch_price_factor": doc.get("batch_price_factor", DEFAULT_BATCH_FACTOR)}


def estimate(types: list[QueryType], messages_per_day: float | None = None, days_per_month: float | None = None,
             batch_price_factor: float = DEFAULT_BATCH_FACTOR) -> dict[str, Any]:
    """Daily and monthly cost of a query mix, on-demand and batch, per query type and in total."""
    from mangaeval.models import load_model_catalog

    catalog = load_model_catalog()
    policy_day, policy_days = _policy_volume()
    per_day = policy_day if messages_per_day is None else float(messages_per_day)
    days = policy_days if days_per_month is None else float(days_per_month)
    rows = []
    for t in types:
        spec = catalog[t.model_id]
        cpq = spec.cost_usd(t.input_tokens, t.output_tokens)
        daily = billed_messages(per_day, t.share, 1, t.cache_hit_rate) * cpq
        monthly = billed_messages(per_day, t.share, days, t.cache_hit_rate) * cpq
        monthly_no_cache = billed_messages(per_day, t.share, days, 0.0) * cpq
        rows.append({"query_type": t.name, "model_id": t.model_id, "share": t.share, "input_tokens": t.input_tokens,
                     "output_tokens": t.output_tokens, "cache_hit_rate": t.cache_hit_rate, "cost_per_query_usd": cpq,
                     "billed_per_day": billed_messages(per_day, t.share, 1, t.cache_hit_rate),
                     "daily_usd": daily, "monthly_usd": monthly, "daily_batch_usd": daily * batch_price_factor,
                     "monthly_batch_usd": monthly * batch_price_factor, "cache_savings_monthly_usd": monthly_no_cache - monthly})
    total = lambda key: sum(r[key] for r in rows)  # noqa: E731
    return {"messages_per_day": per_day, "days_per_month": days, "batch_price_factor": batch_price_factor, "per_query_type": rows,
            "daily_usd": total("daily_usd"), "monthly_usd": total("monthly_usd"), "daily_batch_usd": total("daily_batch_usd"),
            "monthly_batch_usd": total("monthly_batch_usd"), "cache_savings_monthly_usd": total("cache_savings_monthly_usd")}


def types_from_result(result: dict[str, Any], config_id: str) -> list[QueryType]:
    """A measured mix: the intents' traffic shares and cache hit rates (intents.yaml), the tokens `config_id` used
    per intent in a `bench` result; intents it did not measure are left out, the shares renormalised."""
    from mangaeval.intents import load_intents

    configs = result.get("configs", {})
    if config_id not in configs:
        raise MangaEvalError(f"--config {config_id}: not in the result (has: {', '.join(configs) or 'none'})")
    measured = configs[config_id]["cost"]["per_intent"]
    intents = load_intents()
    share = sum(intents[n].traffic_share for n in measured if n in intents)
    if not share:
        raise MangaEvalError(f"{config_id}: the result measured no known intent")
    return [QueryType(n, intents[n].traffic_share / share, v["input_tokens"], v["output_tokens"], configs[config_id]["model_id"],
                      intents[n].cache_hit_rate) for n, v in measured.items() if n in intents]


def format_estimate(doc: dict[str, Any]) -> str:
    lines = [f"{'query type':<20} {'model':<40} {'share':>6} {'in/out tok':>11} {'cache':>6} {'$/query':>10} {'$/day':>11} "
             f"{'$/month':>12} {'batch $/month':>14}"]
    for r in doc["per_query_type"]:
        lines.append(f"{r['query_type']:<20} {r['model_id']:<40} {r['share']:>6.0%} {r['input_tokens']:>5.0f}/{r['output_tokens']:<5.0f} "
                     f"{r['cache_hit_rate']:>6.0%} {r['cost_per_query_usd']:>10.6f} {r['daily_usd']:>11,.2f} {r['monthly_usd']:>12,.2f} "
                     f"{r['monthly_batch_usd']:>14,.2f}")
    lines.append(f"{'total':<20} {doc['messages_per_day']:,.0f} messages/day x {doc['days_per_month']:g} days: "
                 f"${doc['daily_usd']:,.2f}/day, ${doc['monthly_usd']:,.2f}/month on demand; "
                 f"${doc['daily_batch_usd']:,.2f}/day, ${doc['monthly_batch_usd']:,.2f}/month batch (x{doc['batch_price_factor']:g}); "
                 f"the cache saves ${doc['cache_savings_monthly_usd']:,.2f}/month")
    return "\n".join(lines)
