"""The suite's HTML report: one self-contained file (plotly.js embedded gzipped, as the run report does), with the
latency distribution per configuration, P50/P95/P99 with their intervals, throughput, cost per query type and the
chain's stages."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from mangaeval.dashboards import pages
from mangaeval.dashboards.figures import _LAYOUT
from mangaeval.dashboards.report import _inline_plotly


def _figures(result: dict[str, Any]) -> list[tuple[str, go.Figure]]:
    configs = result["configs"]
    box = go.Figure([go.Box(y=c["latency"]["samples_ms"], name=cid, boxpoints="outliers") for cid, c in configs.items()])
    box.update_layout(title="Latency per request (measurement phase, ms)", yaxis_title="ms", **_LAYOUT)
    pct = go.Figure()
    for p in ("p50", "p95", "p99"):
        stats = [c["latency"]["stats"] for c in configs.values()]
        pct.add_bar(name=p.upper(), x=list(configs), y=[s.get(p) for s in stats],
                    error_y=dict(type="data", symmetric=False, array=[s[f"{p}_ci"][1] - s[p] for s in stats],
                                 arrayminus=[s[p] - s[f"{p}_ci"][0] for s in stats]))
    pct.update_layout(title="Latency percentiles with bootstrap 95% intervals (ms)", barmode="group", **_LAYOUT)
    thr = go.Figure([go.Bar(x=list(configs), y=[c["throughput"]["rps"] for c in configs.values()], name="req/s")])
    thr.update_layout(title=f"Throughput at {result['settings']['workers']} concurrent workers (req/s)", **_LAYOUT)
    cost = go.Figure()
    for cid, c in configs.items():
        per = c["cost"]["per_intent"]
        cost.add_bar(name=cid, x=list(per), y=[v["cost_per_query_usd"] for v in per.values()])
    cost.update_layout(title="Cost per query by query type (USD)", barmode="group", **_LAYOUT)
    chain = go.Figure()
    for stage in ("build_ms", "call_ms", "score_ms"):
        chain.add_bar(name=stage.removesuffix("_ms"), x=list(configs), y=[c["chain"][stage].get("mean") for c in configs.values()])
    chain.update_layout(title="End-to-end chain: mean time per stage (ms)", barmode="stack", **_LAYOUT)
    return [("latency-box", box), ("latency-pct", pct), ("throughput", thr), ("cost", cost), ("chain", chain)]


def build_html(result: dict[str, Any], comparison: list[dict[str, Any]] | None = None) -> str:
    rows = []
    for cid, c in result["configs"].items():
        s, t = c["latency"]["stats"], c["throughput"]
        rows.append([pages.e(cid), pages.td_num(pages.num(s.get("mean"), "{:,.0f}")), pages.td_num(pages.num(s.get("p50"), "{:,.0f}")),
                     pages.td_num(pages.num(s.get("p95"), "{:,.0f}") + " [" + ", ".join(f"{v:,.0f}" for v in s.get("p95_ci", [])) + "]"),
                     pages.td_num(pages.num(s.get("p99"), "{:,.0f}")), pages.td_num(pages.num(t.get("rps"), "{:.2f}")),
                     pages.td_num(pages.usd(c["cost"]["cost_per_query_usd"])), pages.td_num(str(sum(c["latency"]["errors"].values())))])
    table = pages.table(["configuration", "mean ms", "P50 ms", "P95 ms [95% CI]", "P99 ms", "req/s", "$/query", "errors"], rows)
    body = (f"<p>Result <b>{pages.e(result['result_id'])}</b> ({pages.e(result['environment'])}), {result['prompts']['total']} prompts "
            f"({result['prompts']['standard']} standard, {result['prompts']['golden']} golden), {result['elapsed_s']:.0f} s. Self-contained: opens offline.</p>"
            + table + "".join(pages.chart(i, f) for i, f in _figures(result)))
    if comparison:
        body += "<h2>Against the baselines</h2>" + pages.table(
            ["configuration", "figure", "baseline", "current", "status"],
            [[pages.e(r["config_id"]), pages.e(r["figure"]), pages.num(r["baseline"], "{:,.4g}"), pages.num(r["current"], "{:,.4g}"),
              pages.e(r["status"])] for r in comparison])
    return pages.layout(f"Benchmark — {result['result_id']}", "", body, plotly_src=None, head_extra=_inline_plotly())
