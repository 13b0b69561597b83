"""The dashboards' charts as plotly figures (plotly.js draws them in the browser; its file ships inside the plotly
package and is served by the plugin or inlined in the static report, never fetched from a CDN).

Each chart names its traces so tests (and people) can find the marks: the quality/cost scatter has one point per
configuration in the trace "configurations" and the frontier's members in the trace "Pareto frontier"."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=60, b=50), font=dict(size=12), title_x=0.01)  # title left of the mode bar


def _color(config_ids: list[str], config_id: str) -> str:
    return PALETTE[sorted(config_ids).index(config_id) % len(PALETTE)] if config_id in config_ids else "#333"


def quality_cost(rows: list[dict[str, Any]], title: str) -> go.Figure:
    """Quality (y) vs mean cost per call (x) of every configuration, P95 latency as the marker colour; the Pareto
    frontier as a line through its members (ordered by cost); the recommended and current configurations ringed."""
    measured = [r for r in rows if r["mean_quality"] is not None and r["mean_cost_usd"] is not None]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        name="configurations", x=[r["mean_cost_usd"] for r in measured], y=[r["mean_quality"] for r in measured],
        mode="markers+text", text=[r["config_id"] for r in measured], textposition="top center",
        customdata=[[r["latency_p95_ms"], r["pass_rate"], r["config_id"], r.get("scored"), r.get("clusters")] for r in measured],
        hovertemplate="%{customdata[2]}<br>quality %{y:.3f}<br>cost $%{x:.6f}<br>P95 %{customdata[0]:.0f} ms"
                      "<br>pass rate %{customdata[1]:.1%}<br>%{customdata[3]} cases in %{customdata[4]} clusters<extra></extra>",
        error_y=dict(type="data", symmetric=False,
                     array=[(r["quality_ci_high"] - r["mean_quality"]) if r.get("quality_ci_high") is not None else 0 for r in measured],
                     arrayminus=[(r["mean_quality"] - r["quality_ci_low"]) if r.get("quality_ci_low") is not None else 0 for r in measured],
                     thickness=1, width=3, color="#999"),
        marker=dict(size=14, color=[r["latency_p95_ms"] for r in measured], colorscale="Viridis", showscale=True,
                    colorbar=dict(title="P95 ms"), line=dict(width=1, color="#333"))))
    frontier = sorted((r for r in measured if r["on_frontier"]), key=lambda r: (r["mean_cost_usd"], -r["mean_quality"]))
    fig.add_trace(go.Scatter(name="Pareto frontier", x=[r["mean_cost_usd"] for r in frontier], y=[r["mean_quality"] for r in frontier],
                             mode="lines+markers", line=dict(color="#d62728", width=2, dash="dot"),
                             marker=dict(size=6, color="#d62728"), hoverinfo="skip"))
    for flag, name, symbol, color in (("is_recommended", "recommended", "star", "#ffbf00"), ("is_current", "current", "circle-open", "#000")):
        picked = [r for r in measured if r[flag]]
        fig.add_trace(go.Scatter(name=name, x=[r["mean_cost_usd"] for r in picked], y=[r["mean_quality"] for r in picked],
                                 mode="markers", marker=dict(symbol=symbol, size=26 if flag == "is_current" else 18, color=color,
                                                             line=dict(width=2, color=color)), hoverinfo="skip"))
    fig.update_layout(title=title, xaxis_title="mean cost per call (USD)", yaxis_title="mean quality (0-1, 95% CI by clusters)",
                      legend=dict(orientation="h", y=-0.2), height=460, **_LAYOUT)
    return fig


def policy(rows: list[dict[str, Any]], title: str) -> go.Figure:
    """Pass rate (y) vs P95 latency (x) of every configuration with the policy's gate (minimum pass rate) and SLA
    (maximum P95) as lines: a configuration must sit above the gate and left of the SLA to be routable."""
    measured = [r for r in rows if r["pass_rate"] is not None and r["latency_p95_ms"] is not None]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        name="configurations", x=[r["latency_p95_ms"] for r in measured], y=[r["pass_rate"] for r in measured],
        mode="markers+text", text=[r["config_id"] for r in measured], textposition="top center",
        error_y=dict(type="data", symmetric=False,
                     array=[(r["pass_ci_high"] - r["pass_rate"]) if r.get("pass_ci_high") is not None else 0 for r in measured],
                     arrayminus=[(r["pass_rate"] - r["pass_ci_low"]) if r.get("pass_ci_low") is not None else 0 for r in measured],
                     thickness=1, width=3, color="#999"),
        marker=dict(size=12, color=[PALETTE[0] if r["on_frontier"] else "#aaa" for r in measured], line=dict(width=1, color="#333")),
        customdata=[[r.get("scored"), r.get("clusters")] for r in measured],
        hovertemplate="%{text}<br>pass rate %{y:.1%}<br>P95 %{x:.0f} ms<br>%{customdata[0]} cases in %{customdata[1]} clusters<extra></extra>"))
    first = rows[0] if rows else {}
    if first.get("min_pass_rate") is not None:
        fig.add_hline(y=first["min_pass_rate"], line=dict(color="#d62728", dash="dash"),
                      annotation_text=f"gate: pass rate >= {first['min_pass_rate']:.0%}", annotation_position="bottom right")
    if first.get("sla_p95_ms") is not None:
        fig.add_vline(x=first["sla_p95_ms"], line=dict(color="#ff7f0e", dash="dash"),
                      annotation_text=f"SLA: P95 <= {first['sla_p95_ms']:.0f} ms", annotation_position="top left")
    fig.update_layout(title=title, xaxis_title="P95 latency (ms)", yaxis_title="pass rate (95% Wilson CI, by clusters)", yaxis_tickformat=".0%",
                      showlegend=False, height=420, **_LAYOUT)
    return fig


def trend(rows: list[dict[str, Any]], title: str) -> dict[str, Any]:
    """Quality, pass rate, cost and P95 per configuration over the nights (one line per configuration, in each panel).

    The layout comes from plotly (make_subplots); the traces are plain plotly.js trace dicts: 9 configurations x 4
    panels x 90 nights through graph_objects' per-trace validation cost most of a page's second, for nothing the
    browser needs."""
    panels = (("mean_quality", "quality"), ("pass_rate", "pass rate"), ("mean_cost_usd", "cost per call (USD)"), ("latency_p95_ms", "P95 ms"))
    fig = make_subplots(rows=2, cols=2, subplot_titles=[p[1] for p in panels], shared_xaxes=True, vertical_spacing=0.12)
    fig.update_layout(title=title, height=560, legend=dict(orientation="h", y=-0.12), **_LAYOUT)
    configs = sorted({r["config_id"] for r in rows})
    data = []
    for config in configs:
        mine = [r for r in rows if r["config_id"] == config]
        x = [r["run_sort_key"] for r in mine]
        for i, (column, _) in enumerate(panels):
            axis = "" if i == 0 else str(i + 1)
            data.append({"type": "scatter", "name": config, "legendgroup": config, "showlegend": i == 0, "x": x,
                         "y": [r[column] for r in mine], "mode": "lines+markers", "marker": {"size": 4},
                         "line": {"color": _color(configs, config), "width": 1.5},
                         "xaxis": f"x{axis}", "yaxis": f"y{axis}"})
    return {"data": data, "layout": fig.to_plotly_json()["layout"]}


def projection(per_intent: list[dict[str, Any]], title: str) -> go.Figure:
    """Monthly cost per intent: what serves vs the all-premium baseline (grouped bars)."""
    intents = [r["intent"] for r in per_intent]
    fig = go.Figure([
        go.Bar(name="routing table", x=intents, y=[r["recommended_monthly_usd"] for r in per_intent], marker_color=PALETTE[2]),
        go.Bar(name="all-premium baseline", x=intents, y=[r["baseline_monthly_usd"] for r in per_intent], marker_color="#999"),
    ])
    fig.update_layout(title=title, barmode="group", yaxis_title="USD per month", height=400, legend=dict(orientation="h", y=-0.25), **_LAYOUT)
    return fig


def calibrated_projection(per_intent: list[dict[str, Any]], title: str) -> go.Figure:
    """Monthly cost per intent at the golden set's sizes and at live traffic's, for the all-premium baseline and the
    recommended routing (grouped bars; an intent without enough live events shows its golden-set figure twice)."""
    intents = [r["intent"] for r in per_intent]
    series = (("all-premium, golden set", "golden_baseline_monthly_usd", "#bbb"), ("all-premium, live traffic", "calibrated_baseline_monthly_usd", "#666"),
              ("recommended, golden set", "golden_recommended_monthly_usd", PALETTE[0]),
              ("recommended, live traffic", "calibrated_recommended_monthly_usd", PALETTE[2]))
    fig = go.Figure([go.Bar(name=name, x=intents, y=[r[key] for r in per_intent], marker_color=colour) for name, key, colour in series])
    fig.update_layout(title=title, barmode="group", yaxis_title="USD per month", height=400, legend=dict(orientation="h", y=-0.25), **_LAYOUT)
    return fig


def ab_effects(metrics: list[dict[str, Any]], title: str) -> go.Figure:
    """Per metric, the effect (treatment - control) over the looks with its always-valid confidence sequence as a band
    and the fixed-horizon 95% interval as error bars; zero as a line."""
    names = sorted({m["metric"] for m in metrics})
    cols = 2
    rows = max(1, (len(names) + cols - 1) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names or ["no metric"], vertical_spacing=0.5 / max(rows, 1))
    for i, name in enumerate(names):
        mine = [m for m in metrics if m["metric"] == name]
        x = [str(m["analyzed_at"]) for m in mine]
        row, col = i // cols + 1, i % cols + 1
        band = [(m["cs_low"], m["cs_high"]) for m in mine]
        if any(lo is not None and hi is not None for lo, hi in band):
            fig.add_trace(go.Scatter(x=x, y=[hi for _, hi in band], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"),
                          row=row, col=col)
            fig.add_trace(go.Scatter(x=x, y=[lo for lo, _ in band], mode="lines", line=dict(width=0), fill="tonexty",
                                     fillcolor="rgba(31,119,180,0.2)", name="always-valid band", showlegend=i == 0, hoverinfo="skip"),
                          row=row, col=col)
        fig.add_trace(go.Scatter(name="effect", showlegend=i == 0, x=x, y=[m["effect"] for m in mine], mode="lines+markers",
                                 line=dict(color=PALETTE[0]),
                                 error_y=dict(type="data", symmetric=False, color="#999",
                                              array=[(m["ci_high"] - m["effect"]) if m["ci_high"] is not None and m["effect"] is not None else 0 for m in mine],
                                              arrayminus=[(m["effect"] - m["ci_low"]) if m["ci_low"] is not None and m["effect"] is not None else 0 for m in mine])),
                      row=row, col=col)
        fig.add_hline(y=0, line=dict(color="#333", width=1), row=row, col=col)
    fig.update_layout(title=title, height=max(320, 260 * rows), legend=dict(orientation="h", y=-0.08), **_LAYOUT)
    return fig


VERDICT_COLORS = {"PROMOTE": "#2ca02c", "HOLD": "#ff7f0e", "ROLLBACK": "#d62728"}


def canary_timeline(stages: list[dict[str, Any]], title: str) -> go.Figure:
    """The stages on a time axis: one bar per stage from its window's start to its end, coloured by its verdict."""
    fig = go.Figure()
    for verdict in sorted({s["verdict"] for s in stages}):
        mine = [s for s in stages if s["verdict"] == verdict and s["window_start"] is not None]
        fig.add_trace(go.Bar(
            name=verdict, orientation="h", y=[f"stage {s['stage']} ({s['traffic_pct']:g}%)" for s in mine],
            base=[str(s["window_start"]) for s in mine],
            x=[(s["window_end"] - s["window_start"]).total_seconds() * 1000 if hasattr(s["window_end"], "__sub__") else 0 for s in mine],
            marker_color=VERDICT_COLORS.get(verdict, "#7f7f7f"), text=[s["action"] for s in mine], textposition="inside",
            hovertemplate="%{y}<br>" + verdict + ": %{text}<extra></extra>"))
    fig.update_layout(title=title, xaxis=dict(type="date", title="window (UTC)"), yaxis=dict(autorange="reversed"), barmode="overlay",
                      height=120 + 50 * max(1, len(stages)), **_LAYOUT)
    return fig


def _error_bars(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A figure's 95% interval as asymmetric error bars (0 where the result has none)."""
    return dict(type="data", symmetric=False, thickness=1, width=3,
                array=[(r["ci_high"] - r["value"]) if r["ci_high"] is not None else 0 for r in rows],
                arrayminus=[(r["value"] - r["ci_low"]) if r["ci_low"] is not None else 0 for r in rows])


def benchmark_p95(rows: list[dict[str, Any]], title: str) -> go.Figure:
    """P95 latency of each configuration over the benchmark results (x: when the result was made), its bootstrap 95%
    interval as error bars: one trace per configuration, one point per result."""
    p95 = [r for r in rows if r["figure"] == "latency_p95_ms"]
    configs = sorted({r["config_id"] for r in rows})
    fig = go.Figure()
    for config in sorted({r["config_id"] for r in p95}):
        mine = [r for r in p95 if r["config_id"] == config]
        color = _color(configs, config)
        fig.add_trace(go.Scatter(
            name=config, x=[r["created_at"] for r in mine], y=[r["value"] for r in mine], mode="lines+markers",
            line=dict(color=color, width=1.5), marker=dict(size=7, color=color), error_y=dict(color=color, **_error_bars(mine)),
            customdata=[[r["result_id"], "first result" if r["change_vs_previous"] is None else f'{r["change_vs_previous"]:+.1%}'] for r in mine],
            hovertemplate=config + "<br>P95 %{y:.0f} ms<br>result %{customdata[0]}<br>vs previous: %{customdata[1]}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="result (created at, UTC)", yaxis_title="P95 latency (ms, 95% bootstrap CI)",
                      legend=dict(orientation="h", y=-0.25), height=420, **_LAYOUT)
    return fig


def benchmark_throughput_cost(rows: list[dict[str, Any]], title: str) -> go.Figure:
    """Throughput (req/s, left) and cost per query (USD, right) of each configuration over the results: one trace per
    configuration in each panel, a configuration's two traces sharing a colour and a legend entry."""
    panels = (("throughput_rps", "throughput (req/s)"), ("cost_per_query_usd", "cost per query (USD)"))
    configs = sorted({r["config_id"] for r in rows})
    fig = make_subplots(rows=1, cols=2, subplot_titles=[label for _, label in panels], horizontal_spacing=0.12)
    for config in configs:
        for col, (figure, label) in enumerate(panels, start=1):
            mine = [r for r in rows if r["config_id"] == config and r["figure"] == figure]
            fig.add_trace(go.Scatter(name=config, legendgroup=config, showlegend=col == 1, x=[r["created_at"] for r in mine],
                                     y=[r["value"] for r in mine], mode="lines+markers", marker=dict(size=7),
                                     line=dict(color=_color(configs, config), width=1.5), customdata=[r["result_id"] for r in mine],
                                     hovertemplate=config + "<br>" + label + " %{y:.4g}<br>result %{customdata}<extra></extra>"),
                          row=1, col=col)
    fig.update_layout(title=title, legend=dict(orientation="h", y=-0.25), height=420, **_LAYOUT)
    return fig


def to_json(fig: go.Figure | dict[str, Any]) -> str:
    """The figure as plotly.js reads it (data + layout), safe inside a <script> element."""
    # 5 significant digits: more than any chart shows, and a third of the bytes of the 17 plotly writes (report size)
    text = json.dumps(fig, default=str) if isinstance(fig, dict) else fig.to_json()
    data = json.loads(text, parse_float=lambda number: float(f"{float(number):.5g}"))
    # plotly.py writes its whole template (~7 kB) into every figure; plotly.js' own defaults look the same here
    data.get("layout", {}).pop("template", None)
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
