"""An independent pandas implementation of the decision SQL, for the tests and the SQL benchmark to compare."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mangaeval.warehouse.pairs import quality_pairs


def _round(x, digits):
    return None if x is None or pd.isna(x) else round(float(x), digits)


def metrics(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (intent, config), g in frame.groupby(["intent", "config_id"], sort=True):
        ok = g[g["status"] == "ok"]
        lat = ok["latency_ms"].dropna().astype("float64").to_numpy()
        q = ok["quality_score"].dropna().astype("float64")
        passed = ok["passed"].dropna().astype(bool).astype(float)
        cost = ok["cost_usd"].dropna().astype("float64")
        mean_quality = q.mean() if len(q) else None
        pass_rate = passed.mean() if len(passed) else None
        rows.append({
            "intent": intent, "config_id": config, "calls": len(g), "ok_calls": len(ok),
            "error_rate": _round((g["status"] != "ok").mean(), 9), "mean_quality": _round(mean_quality, 9),
            "pass_rate": _round(pass_rate, 9), "mean_cost_usd": _round(cost.mean() if len(cost) else None, 12),
            "latency_p50_ms": _round(np.percentile(lat, 50) if lat.size else None, 6),
            "latency_p95_ms": _round(np.percentile(lat, 95) if lat.size else None, 6),
            "latency_p99_ms": _round(np.percentile(lat, 99) if lat.size else None, 6),
        })
    return pd.DataFrame(rows)


def frontier(m: pd.DataFrame) -> dict[str, list[str]]:
    result = {}
    for intent, g in m[m["ok_calls"] > 0].groupby("intent"):
        keep = []
        for a in g.itertuples():
            dominated = any(
                b.config_id != a.config_id and b.mean_quality >= a.mean_quality and b.mean_cost_usd <= a.mean_cost_usd
                and b.latency_p95_ms <= a.latency_p95_ms
                and (b.mean_quality > a.mean_quality or b.mean_cost_usd < a.mean_cost_usd or b.latency_p95_ms < a.latency_p95_ms)
                for b in g.itertuples())
            if not dominated:
                keep.append(a.config_id)
        result[intent] = sorted(keep)
    return result


def recommendation(frame: pd.DataFrame, policy, current: dict[str, str]) -> dict[str, tuple[str, bool]]:
    m = metrics(frame)
    front = frontier(m)
    pairs = {(p["intent"], p["config_id"], p["reference_config_id"]): p["lower_95"] for p in quality_pairs(frame)}
    result = {}
    for intent in sorted(set(frame["intent"])):
        g = m[(m["intent"] == intent) & m["config_id"].isin(front.get(intent, []))]
        eligible = g[(g["pass_rate"] >= policy.min_pass_rate) & (g["latency_p95_ms"] <= policy.sla_p95_ms)
                     & (g["error_rate"] <= policy.max_error_rate)]
        if eligible.empty:
            result[intent] = (current.get(intent) or policy.default_config_id, True)
            continue
        best = eligible.sort_values(["mean_quality", "mean_cost_usd", "config_id"], ascending=[False, True, True]).iloc[0]["config_id"]
        ok = eligible[[c == best or ((lb := pairs.get((intent, c, best))) is not None and lb > -policy.non_inferiority_margin)
                       for c in eligible["config_id"]]]
        pick = ok.sort_values(["mean_cost_usd", "mean_quality", "config_id"], ascending=[True, False, True]).iloc[0]["config_id"]
        result[intent] = (pick, False)
    return result
