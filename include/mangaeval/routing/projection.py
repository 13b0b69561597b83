"""Monthly cost of what actually serves: every intent of the mix (intents.yaml) at the figures of the route that
serves it, against the all-premium baseline's cost on the same intent. A run that measured two intents does
not make a two-intent projection: the other routes keep their figures, and an intent whose serving cost was
never measured is named, never counted as $0."""

from __future__ import annotations

from typing import Any

from mangaeval.intents import load_intents
from mangaeval.warehouse.policy import RoutingPolicy


def billed_messages(messages_per_day: float, traffic_share: float, days: float, cache_hit_rate: float) -> float:
    """Calls a query type pays for over `days`: messages/day x its traffic share x days x (1 - cache hit rate), the
    arithmetic of mart_monthly_projection.sql (a cache hit costs nothing). The cost model (mangaeval.bench.cost)
    uses this same function."""
    return messages_per_day * traffic_share * days * (1 - cache_hit_rate)


def project(document: dict[str, Any], policy: RoutingPolicy) -> dict[str, Any]:
    per_intent, missing, missing_baseline = [], [], []
    for name, intent in load_intents().items():
        route = document["routes"].get(name)
        billed = billed_messages(policy.messages_per_day, intent.traffic_share, policy.days_per_month, intent.cache_hit_rate)
        cost = route.get("mean_cost_usd") if route else None
        baseline = route.get("baseline_cost_usd") if route else None
        if cost is None:
            missing.append(name)
        if baseline is None:
            missing_baseline.append(name)
        per_intent.append({"intent": name, "config_id": route["config_id"] if route else document["default"]["config_id"],
                           "set_by": ((route or {}).get("set_by") or {}).get("kind"), "traffic_share": intent.traffic_share,
                           "billed_messages": billed, "recommended_monthly_usd": None if cost is None else billed * cost,
                           "baseline_monthly_usd": None if baseline is None else billed * baseline})
    recommended = None if missing else sum(r["recommended_monthly_usd"] for r in per_intent)
    baseline_total = None if missing_baseline else sum(r["baseline_monthly_usd"] for r in per_intent)
    return {"ledger_version": document.get("ledger_version"), "intents": len(per_intent),
            "recommended_monthly_usd": recommended, "baseline_monthly_usd": baseline_total,
            "savings_monthly_usd": None if recommended is None or baseline_total is None else baseline_total - recommended,
            "unmeasured_intents": missing, "baseline_unmeasured_intents": missing_baseline, "per_intent": per_intent}
