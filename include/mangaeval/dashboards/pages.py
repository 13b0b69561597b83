"""The dashboard pages as HTML: server-rendered tables and plotly charts, no template engine and no front-end build.
Every value written into a page goes through html.escape (answers are model output: never trusted as markup); links
are relative (the pages are served under the plugin's prefix, sometimes behind a proxy)."""

from __future__ import annotations

import html
from typing import Any, Iterable
from urllib.parse import urlencode

from mangaeval.dashboards import figures
from mangaeval.dashboards.queries import DIMENSIONS, P95_WORSE

NAV = (("evaluation", "Evaluation"), ("answers", "Answers"), ("routing", "Routing"), ("experiments", "Experiments"), ("rollouts", "Rollouts"),
       ("benchmarks", "Benchmarks"))

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#017cee;color:#fff;padding:8px 16px;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;padding:4px 8px;border-radius:4px}header a.on{background:rgba(255,255,255,.25)}
main{padding:12px 16px}h1{font-size:20px;margin:8px 0}h2{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;background:#fff;font-size:12.5px;margin:6px 0}th,td{border:1px solid #ddd;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f0f3f7}td.n{text-align:right;font-variant-numeric:tabular-nums}.chart{background:#fff;margin:8px 0;min-height:200px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:8px}.muted{color:#777}.bad{color:#b00020}.ok{color:#1b7f2a}
form.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:end;background:#fff;padding:8px;border:1px solid #ddd}
.answer{white-space:pre-wrap;max-height:220px;overflow:auto;font-size:12px;min-width:220px}.tag{background:#eef;border-radius:3px;padding:0 4px;margin-right:3px;font-size:11px}
.notice{background:#fff3cd;border:1px solid #e0c36b;padding:10px;margin:10px 0}.flag{font-weight:bold}
"""

# Draw every chart whose JSON is on the page once plotly.js is loaded; data-rendered marks a chart as drawn (tests
# and screenshots wait for it).
RENDER_JS = """
function renderCharts(){document.querySelectorAll('script[data-chart]').forEach(function(s){
 var f=JSON.parse(s.textContent), el=document.getElementById(s.dataset.chart);
 Plotly.newPlot(el,f.data,f.layout,{displaylogo:false,responsive:true}).then(function(){el.dataset.rendered='1';});});}
"""


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def num(value: Any, fmt: str = "{:.3f}") -> str:
    return "—" if value is None else fmt.format(value)


def pct(value: Any) -> str:
    return num(value, "{:.1%}")


def usd(value: Any, digits: int = 6) -> str:
    return "—" if value is None else f"${value:,.{digits}f}"


def link(path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)})
    return e(path + ("?" + query if query else ""))


def chart(chart_id: str, fig: Any) -> str:
    return f'<div class="chart" id="{e(chart_id)}"></div><script type="application/json" data-chart="{e(chart_id)}">{figures.to_json(fig)}</script>'


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], table_id: str = "") -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell if cell.startswith("<td") else f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table{f" id={chr(34)}{e(table_id)}{chr(34)}" if table_id else ""}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def td_num(text: str) -> str:
    return f'<td class="n">{text}</td>'


def layout(title: str, active: str, body: str, *, plotly_src: str | None = "static/plotly.min.js", head_extra: str = "") -> str:
    nav = "".join(f'<a href="{key}" class="{"on" if key == active else ""}">{label}</a>' for key, label in NAV) if active else ""
    script = f'<script src="{e(plotly_src)}"></script>' if plotly_src else ""
    loader = "<script>" + RENDER_JS + ("window.addEventListener('load',renderCharts);" if plotly_src else "") + "</script>"
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            f"<title>{e(title)} · MangaEval</title><link rel=icon href='data:,'><style>{CSS}</style>{script}{head_extra}</head>"
            f"<body><header><strong>MangaEval</strong>{nav}</header><main><h1>{e(title)}</h1>{body}</main>{loader}</body></html>")


# Where a page that cannot be answered sends the reader back to (default: the latest evaluation run).
BACK_LINKS = {"benchmarks": ("benchmarks", "Latest benchmark results")}


def message_page(title: str, message: str, active: str = "") -> str:
    """A clear page for a request that cannot be answered (no such run, a value outside its allow-list)."""
    href, label = BACK_LINKS.get(active, ("evaluation", "Latest evaluation run"))
    return layout(title, active, f'<div class="notice" id="message">{e(message)}</div><p><a href="{href}">{e(label)}</a></p>',
                  plotly_src=None)


# Evaluation --------------------------------------------------------------------------------------------------------
def run_selector(runs: list[dict[str, Any]], run_id: str, intents: list[str], intent: str, page: str) -> str:
    run_options = "".join(f'<option value="{e(r["run_id"])}"{" selected" if r["run_id"] == run_id else ""}>{e(r["run_id"])}</option>'
                          for r in runs)
    intent_options = "".join(f'<option{" selected" if i == intent else ""}>{e(i)}</option>' for i in intents)
    return (f'<form class="filters" method="get" action="{page}"><label>run<br><select name="run_id" id="run-select" '
            f'onchange="this.form.intent.value=\'\';this.form.submit()">{run_options}</select></label>'
            f'<label>intent<br><select name="intent" onchange="this.form.submit()">{intent_options}</select></label>'
            f'<noscript><button>show</button></noscript></form>')


def evaluation_table(rows: list[dict[str, Any]]) -> str:
    def marks(r: dict[str, Any]) -> str:
        return " ".join(m for m, flag in (("★ recommended", r["is_recommended"]), ("◯ current", r["is_current"]), ("frontier", r["on_frontier"])) if flag)

    return table(
        ["configuration", "model", "calls", "errors", "scored cases / clusters", "quality", "quality 95% CI", "pass rate", "pass 95% CI",
         "cost/call", "cost/satisfactory", "P50 ms", "P95 ms", "P99 ms", "marks"],
        [[e(r["config_id"]), f'<span class="muted">{e(r["model_id"])}</span>', td_num(str(r["calls"])), td_num(pct(r["error_rate"])),
          td_num(_cases_and_clusters(r)),
          td_num(num(r["mean_quality"])), td_num(f'{num(r["quality_ci_low"])} – {num(r["quality_ci_high"])}'), td_num(pct(r["pass_rate"])),
          td_num(f'{pct(r["pass_ci_low"])} – {pct(r["pass_ci_high"])}'), td_num(usd(r["mean_cost_usd"])),
          td_num(usd(r["cost_per_satisfactory_usd"])), td_num(num(r["latency_p50_ms"], "{:.0f}")),
          td_num(num(r["latency_p95_ms"], "{:.0f}")), td_num(num(r["latency_p99_ms"], "{:.0f}")), e(marks(r))] for r in rows],
        table_id="evaluation-table")


def _cases_and_clusters(r: dict[str, Any]) -> str:
    """The evidence behind a row's intervals: scored cases and the clusters they fall in (cases sharing a query or a
    template are one cluster: mangaeval.clusters)."""
    scored, clusters = r.get("scored"), r.get("clusters")
    if scored is None:
        return "–"
    return f"{int(scored)} / {int(clusters)}" if clusters is not None else str(int(scored))


def evaluation_section(rows: list[dict[str, Any]], run_id: str, intent: str, suffix: str = "") -> str:
    routed = next((r for r in rows if r.get("routed_config_id")), None) or (rows[0] if rows else {})
    frontier = [r["config_id"] for r in rows if r["on_frontier"]]
    summary = (f'<p id="decision{suffix}">Routed: <b>{e(routed.get("routed_config_id"))}</b> — {e(routed.get("recommendation_reason"))}'
               f'{" <span class=flag>(flagged)</span>" if routed.get("flagged") else ""}. Frontier: {e(", ".join(frontier) or "none")}.</p>')
    charts = (f'<div class="grid">{chart("quality-cost" + suffix, figures.quality_cost(rows, f"{intent}: quality vs cost (colour: P95)"))}'
              f'{chart("policy" + suffix, figures.policy(rows, f"{intent}: pass rate vs P95, gate and SLA"))}</div>')
    return summary + charts + evaluation_table(rows)


def evaluation_page(runs: list[dict[str, Any]], run_id: str, intents: list[str], intent: str, rows: list[dict[str, Any]],
                    trend_rows: list[dict[str, Any]], calibrated: dict[str, Any] | None = None) -> str:
    body = (run_selector(runs, run_id, intents, intent, "evaluation") + evaluation_section(rows, run_id, intent)
            + f'<p><a href="{link("answers", run_id=run_id, intent=intent, disagree=1)}">Answers where the configurations disagree</a></p>'
            + f"<h2>Trend over the nights ({len({r['run_id'] for r in trend_rows})})</h2>"
            + chart("trend", figures.trend(trend_rows, f"{intent}: per configuration, night by night"))
            + (calibrated_section(calibrated) if calibrated is not None else ""))
    return layout(f"Evaluation — {run_id} — {intent}", "evaluation", body)


FALLBACK_TEXT = {"no_events": "golden set: no live events", "too_few_events": "golden set: too few live events",
                 "no_price": "golden set: no price recorded", "no_golden_tokens": "golden set: no golden tokens"}


def calibrated_section(doc: dict[str, Any], suffix: str = "") -> str:
    """The run's monthly projection at the golden set's token sizes and at live traffic's (mangaeval.warehouse.
    live_calibration), the ratio between them, and where the live figures came from; or why there is no calibrated one."""
    window = doc["window"]
    head = f'<h2 id="calibrated-projection{suffix}">Monthly projection: golden set vs live traffic (run {e(doc["run_id"])})</h2>'
    source = (f'<p class="muted" id="calibrated-source{suffix}">Live figures: {doc["events_in_window"]:,} answered request events '
              f'from {e(window["start"])} to {e(window["end"])} ({window["days"]:g} days to {e(window.get("end_at"))}, table '
              f'request_events); an intent '
              f'with fewer than {doc["min_events"]:,} keeps its golden-set figure. Each configuration\'s cost per request is '
              f'scaled per intent by live tokens over the golden set\'s, input and output apart, at the catalog\'s prices.</p>')
    notice = "" if doc["available"] else f'<p class="notice" id="calibrated-unavailable{suffix}">Calibrated projection unavailable: {e(doc["reason"])}</p>'
    ratio = lambda v: "—" if v is None else f"×{v:.2f}"
    totals = table(["", "configuration", "golden set", "live traffic", "ratio"], [
        ["all-premium baseline", e(doc.get("baseline_config_id")), td_num(usd(doc["golden"]["baseline_monthly_usd"], 0)),
         td_num(usd(doc["calibrated"]["baseline_monthly_usd"], 0)), td_num(ratio(doc["ratio"]["baseline"]))],
        ["recommended routing", "per intent", td_num(usd(doc["golden"]["recommended_monthly_usd"], 0)),
         td_num(usd(doc["calibrated"]["recommended_monthly_usd"], 0)), td_num(ratio(doc["ratio"]["recommended"]))]],
        "calibrated-total" + suffix)
    tokens = lambda a, b: "—" if a is None or b is None else f"{a:,.0f} / {b:,.0f}"
    rows = [[e(r["intent"]), td_num(f'{r["live_events"]:,}'), td_num(tokens(r["live_input_tokens"], r["live_output_tokens"])),
             td_num(tokens(r["golden_input_tokens"], r["golden_output_tokens"])),
             td_num("—" if r["input_ratio"] is None else f'{r["input_ratio"]:.2f} / {r["output_ratio"]:.2f}'),
             e("live traffic" if r["intent"] in doc.get("calibrated_intents", []) else
               FALLBACK_TEXT.get(r["calibration"], "golden set: " + str(doc.get("golden_fallback", {}).get(r["intent"], "")))),
             e(r["recommended_config_id"]), td_num(usd(r["golden_recommended_monthly_usd"], 0)),
             td_num(usd(r["calibrated_recommended_monthly_usd"], 0)), td_num(usd(r["golden_baseline_monthly_usd"], 0)),
             td_num(usd(r["calibrated_baseline_monthly_usd"], 0))] for r in doc["per_intent"]]
    per_intent = table(["intent", "live events", "live tokens in / out", "golden tokens in / out", "ratio in / out", "figures",
                        "recommended", "golden set", "live traffic", "baseline golden set", "baseline live traffic"], rows,
                       "calibrated-table" + suffix)
    chart_html = chart("calibrated" + suffix, figures.calibrated_projection(doc["per_intent"], "monthly cost per intent: golden set vs live traffic")) \
        if doc["available"] else ""
    return head + notice + totals + source + chart_html + per_intent


# Answers -----------------------------------------------------------------------------------------------------------
def answers_page(runs: list[dict[str, Any]], run_id: str, intents: list[str], intent: str, result: dict[str, Any],
                 filters: dict[str, Any]) -> str:
    lang_options = '<option value="">any</option>' + "".join(
        f'<option{" selected" if v == filters.get("language") else ""}>{e(v)}</option>' for v in result["languages"])
    tag_options = '<option value="">any</option>' + "".join(
        f'<option{" selected" if v == filters.get("tag") else ""}>{e(v)}</option>' for v in result["tags"])
    intent_options = "".join(f'<option{" selected" if i == intent else ""}>{e(i)}</option>' for i in intents)
    form = (f'<form class="filters" method="get" action="answers"><input type="hidden" name="run_id" value="{e(run_id)}">'
            f'<label>intent<br><select name="intent">{intent_options}</select></label>'
            f'<label>language<br><select name="language">{lang_options}</select></label>'
            f'<label>tag<br><select name="tag">{tag_options}</select></label>'
            f'<label><input type="checkbox" name="failed" value="1"{" checked" if filters.get("failed") else ""}> failed only</label>'
            f'<label><input type="checkbox" name="disagree" value="1"{" checked" if filters.get("disagree") else ""}> configurations disagree</label>'
            f'<button>filter</button></form>')
    configs = sorted({a["config_id"] for c in result["cases"] for a in c["answers"]})
    rows = []
    for case in result["cases"]:
        by_config = {a["config_id"]: a for a in case["answers"]}
        head = (f'<td><a href="{link("case", run_id=run_id, test_id=case["test_id"])}">{e(case["test_id"])}</a><br>'
                f'<span class="muted">{e(case["language"])} {e(case.get("source") or "")}</span><br>'
                + "".join(f'<span class="tag">{e(t)}</span>' for t in case["tag_list"])
                + f'<div class="answer">{e(case.get("query"))}</div>'
                + (f'<span class="bad">disagree: {case["passed_configs"]}/{case["configs"]} passed</span>' if case["disagree"] else
                   f'<span class="muted">{case["passed_configs"]}/{case["configs"]} passed</span>') + "</td>")
        cells = [head]
        for config in configs:
            a = by_config.get(config)
            if a is None:
                cells.append("<td class=muted>not evaluated</td>")
                continue
            verdict = ('<span class="ok">PASS</span>' if a["passed"] == 1 else '<span class="bad">FAIL</span>' if a["passed"] == 0
                       else f'<span class="bad">ERROR {e(a["error_code"])}</span>')
            scores = " ".join(f'{d[:4]} {num(a.get("score_" + d), "{:.2f}")}' for d in DIMENSIONS)
            judge = (f' · judge {num(a["score_judge"], "{:.2f}")}' if a.get("score_judge") is not None else
                     f' · judge error: {e(a["judge_error"])}' if a.get("judge_error") else "")
            critical = f'<br><span class="bad">critical: {e(a["critical_failure"])}</span>' if a.get("critical_failure") else ""
            cells.append(f'<td>{verdict} {num(a["quality_score"])}{judge}{critical}<br><span class="muted">{e(scores)}</span>'
                         f'<div class="answer">{e(a["response_text"])}</div></td>')
        rows.append(cells)
    pager = " ".join(f'<a href="{link("answers", run_id=run_id, intent=intent, language=filters.get("language"), tag=filters.get("tag"), failed=filters.get("failed") and 1, disagree=filters.get("disagree") and 1, page=p)}">{p}</a>'
                     if p != result["page"] else f"<b>{p}</b>" for p in range(1, result["pages"] + 1))
    body = (form + f'<p id="matching">{result["matching"]} matching cases; page {result["page"]} of {result["pages"]}: {pager}</p>'
            + (table(["case"] + configs, rows, table_id="answers-table") if rows else '<p class="notice">No case matches these filters.</p>'))
    return layout(f"Answers — {run_id} — {intent}", "answers", body, plotly_src=None)


def case_page(row: dict[str, Any]) -> str:
    import json

    case = row.get("case")
    body = (f'<p>Run {e(row["run_id"])}, dataset {e(row["dataset_version"])}, <b>{e(row.get("source") or "source unknown")}</b> '
            f'(include/golden_datasets/{e((row.get("source") or "").split(":")[0])})</p>'
            + (f'<pre class="answer" style="max-height:none">{e(json.dumps(case, ensure_ascii=False, indent=2))}</pre>' if case else
               '<p class="notice">This case is not in its dataset any more: only the results remember it.</p>')
            + f'<p><a href="{link("answers", run_id=row["run_id"], intent=row["intent"])}">back to the answers</a></p>')
    return layout(f"Case {row['test_id']}", "answers", body, plotly_src=None)


# Routing -----------------------------------------------------------------------------------------------------------
def actor_text(actor: dict[str, Any]) -> str:
    """Who set a route or wrote an entry: its kind and, when it says more, its id (a run, experiment, rollout, person)."""
    kind, ident = actor.get("kind", ""), actor.get("id") or actor.get("run_id") or actor.get("person") or ""
    return kind if not ident or ident == kind else f"{kind} {ident}"


def routes_table(document: dict[str, Any], table_id: str = "routes-table") -> str:
    rows = []
    for intent, route in sorted(document["routes"].items()):
        set_by = route.get("set_by") or {}
        rows.append([e(intent), f"<b>{e(route['config_id'])}</b>", td_num(num(route.get("mean_quality"))), td_num(pct(route.get("pass_rate"))),
                     td_num(num(route.get("latency_p95_ms"), "{:.0f}")), td_num(usd(route.get("mean_cost_usd"))),
                     e(actor_text(set_by)),
                     e(route.get("held") or ""), e(route.get("reason") or "")])
    return table(["intent", "configuration", "quality", "pass rate", "P95 ms", "cost/call", "set by", "held", "reason"], rows, table_id)


def projection_section(projection: dict[str, Any], suffix: str = "") -> str:
    per = projection["per_intent"]
    total = (f'<p id="projection-total{suffix}">Routing table <b>{usd(projection["recommended_monthly_usd"], 0)}</b> a month vs all-premium '
             f'baseline {usd(projection["baseline_monthly_usd"], 0)}: savings <b>{usd(projection["savings_monthly_usd"], 0)}</b>'
             + (f'; not measured: {e(", ".join(projection["unmeasured_intents"]))}' if projection["unmeasured_intents"] else "") + "</p>")
    rows = [[e(r["intent"]), e(r["config_id"]), td_num(pct(r["traffic_share"])), td_num(f'{r["billed_messages"]:,.0f}'),
             td_num(usd(r["recommended_monthly_usd"], 0)), td_num(usd(r["baseline_monthly_usd"], 0)),
             td_num(usd(None if r["recommended_monthly_usd"] is None or r["baseline_monthly_usd"] is None
                        else r["baseline_monthly_usd"] - r["recommended_monthly_usd"], 0))] for r in per]
    return (total + chart("projection" + suffix, figures.projection(per, "monthly cost per intent: routing table vs all-premium baseline"))
            + table(["intent", "configuration", "traffic share", "billed messages/month", "monthly", "baseline", "savings"], rows,
                    "projection-table" + suffix))


def routing_page(view: dict[str, Any]) -> str:
    document = view["document"]
    history_rows = []
    for entry in reversed(view["history"]):
        actor = entry.get("actor") or entry.get("set_by") or {}
        changes = "; ".join(f'{c["intent"]}: {c.get("from") or "—"} → {c.get("to")}' for c in entry.get("changes", []))
        declined = "; ".join(f'{d["intent"]}: {d.get("reason", "")}' for d in entry.get("declined", []))
        evidence = entry.get("evidence") or {}
        history_rows.append([td_num(str(entry["version"])), e(entry.get("at") or entry.get("created_at") or ""), e(actor_text(actor)),
                             e(changes or "no change"), f'<span class="muted">{e(declined)}</span>',
                             f'<span class="muted">{e(evidence if isinstance(evidence, str) else ", ".join(f"{k}={v}" for k, v in evidence.items() if not isinstance(v, (dict, list))))}</span>'])
    options = lambda chosen: "".join(f'<option{" selected" if str(v) == chosen else ""}>{v}</option>' for v in view["versions"] + ["current"])
    diff = view["diff"]
    diff_rows = [[e(i), e(c["status"]), e(c.get("from")), e(c.get("to")), td_num(num(c.get("mean_quality"), "{:+.3f}")),
                  td_num(num(c.get("mean_cost_usd"), "{:+.6f}"))] for i, c in diff["intents"].items()]
    body = (f'<p>Ledger version {e(document.get("ledger_version"))}, written by run {e(document.get("run_id"))}, '
            f'dataset {e(document.get("dataset_version"))}, at {e(document.get("generated_at"))}.</p>'
            + "<h2>Current routing table</h2>" + routes_table(document)
            + "<h2>Monthly projection</h2>" + projection_section(view["projection"])
            + "<h2>Change history (routing ledger)</h2>"
            + table(["version", "at", "by", "changes", "declined", "evidence"], history_rows, "history-table")
            + f'<h2>Diff between versions</h2><form class="filters" method="get" action="routing"><label>from<br><select name="a">{options(view["a"])}</select></label>'
              f'<label>to<br><select name="b">{options(view["b"])}</select></label><button>diff</button></form>'
            + f'<p>version {e(diff["from_version"])} (run {e(diff["from_run"])}) → version {e(diff["to_version"])} (run {e(diff["to_run"])})</p>'
            + table(["intent", "status", "from", "to", "Δ quality", "Δ cost/call"], diff_rows, "diff-table"))
    return layout("Routing", "routing", body)


# Experiments -------------------------------------------------------------------------------------------------------
def experiments_page(experiments: list[dict[str, Any]], chosen: str | None, detail: dict[str, Any] | None) -> str:
    if not experiments:
        return layout("Experiments", "experiments", '<p class="notice" id="empty">No A/B analysis in the warehouse yet '
                      '(the ab_analysis DAG writes one look per hour per running experiment).</p>', plotly_src=None)
    picker = "".join(f'<li><a href="{link("experiments", experiment_id=x["experiment_id"])}">{e(x["experiment_id"])}</a> '
                     f'<span class="muted">{x["looks"]} looks, last {e(x["last_look"])}</span></li>' for x in experiments)
    body = f"<ul>{picker}</ul>"
    if detail:
        looks, metrics = detail["looks"], detail["metrics"]
        last = looks[-1]
        body += (f'<h2>{e(chosen)}: <span id="ab-decision">{e(last["decision"])}</span></h2><ul>'
                 + "".join(f"<li>{e(r)}</li>" for r in last["reason_list"]) + "</ul>"
                 + f'<p>Sample-ratio check: <b class="{"bad" if last["srm_status"] != "ok" else "ok"}">{e(last["srm_status"])}</b> '
                   f'(p = {num(last["srm_p_value"], "{:.4g}")}; control {e(last["control_sessions"])} / treatment {e(last["treatment_sessions"])} sessions)</p>'
                 + chart("ab-effects", figures.ab_effects([m for m in metrics if m["role"] != "business"] or metrics,
                                                          "effect over the looks (band: always-valid confidence sequence)")))
        latest = [m for m in metrics if m["analyzed_at"] == last["analyzed_at"]]
        body += "<h2>Outcomes per arm at the last look</h2>" + table(
            ["metric", "role", "control", "treatment", "effect", "95% CI", "always-valid p", "status"],
            [[e(m["metric"]), e(m["role"]), td_num(num(m["control_mean"], "{:.4g}")), td_num(num(m["treatment_mean"], "{:.4g}")),
              td_num(num(m["effect"], "{:+.4g}")), td_num(f'{num(m["ci_low"], "{:+.4g}")} – {num(m["ci_high"], "{:+.4g}")}'),
              td_num(num(m["p_value_sequential"], "{:.3g}")), e(m["status"])] for m in latest], "ab-table")
        body += "<h2>Decisions, look by look</h2>" + table(
            ["look", "decision", "SRM", "sessions C/T", "reasons"],
            [[e(l["analyzed_at"]), e(l["decision"]), e(l["srm_status"]), e(f'{l["control_sessions"]}/{l["treatment_sessions"]}'),
              e("; ".join(map(str, l["reason_list"])))] for l in looks], "ab-looks")
    return layout(f"Experiments{' — ' + chosen if chosen else ''}", "experiments", body)


# Rollouts ----------------------------------------------------------------------------------------------------------
def rollouts_page(rollouts: list[dict[str, Any]], chosen: str | None, detail: dict[str, Any] | None) -> str:
    if not rollouts:
        return layout("Rollouts", "rollouts", '<p class="notice" id="empty">No canary rollout in the warehouse yet '
                      '(the canary_rollout DAG writes each stage\'s verdict and metrics).</p>', plotly_src=None)
    picker = "".join(f'<li><a href="{link("rollouts", rollout_id=r["rollout_id"])}">{e(r["rollout_id"])}</a> '
                     f'<span class="muted">{r["stages"]} stages, started {e(r["started"])}</span></li>' for r in rollouts)
    body = f"<ul>{picker}</ul>"
    if detail:
        stages, metrics = detail["stages"], detail["metrics"]
        body += (f"<h2>{e(chosen)}</h2>" + chart("canary-timeline", figures.canary_timeline(stages, "stages on a timeline (colour: verdict)"))
                 + table(["stage", "traffic", "window", "verdict", "action", "reasons"],
                         [[td_num(str(s["stage"])), td_num(f'{s["traffic_pct"]:g}%'), e(f'{s["window_start"]} → {s["window_end"]}'),
                           f'<b>{e(s["verdict"])}</b>', e(s["action"]), e("; ".join(map(str, s["reason_list"])))] for s in stages], "stages-table")
                 + "<h2>Metrics behind each verdict</h2>"
                 + table(["stage", "metric", "status", "baseline", "canary", "threshold"],
                         [[td_num(str(m["stage"])), e(m["metric"]), e(m["status"]), td_num(num(m["baseline_value"], "{:.4g}")),
                           td_num(num(m["canary_value"], "{:.4g}")), td_num(num(m["threshold"], "{:.4g}"))] for m in metrics], "canary-metrics"))
    return layout(f"Rollouts{' — ' + chosen if chosen else ''}", "rollouts", body)


# Benchmarks --------------------------------------------------------------------------------------------------------
def benchmarks_empty_page() -> str:
    return layout("Benchmarks", "benchmarks", '<p class="notice" id="empty">No benchmark results yet: run <code>mangaeval bench</code> '
                  'or the model_benchmark DAG (each result loads its figures into benchmark_results).</p>', plotly_src=None)


def benchmark_filters(environments: list[str], environment: str, configs: list[str], config_id: str | None) -> str:
    env_options = "".join(f'<option{" selected" if v == environment else ""}>{e(v)}</option>' for v in environments)
    config_options = '<option value="">every configuration</option>' + "".join(
        f'<option{" selected" if v == config_id else ""}>{e(v)}</option>' for v in configs)
    # a new environment has other configurations: drop the chosen one rather than ask for one it may not hold
    return (f'<form class="filters" method="get" action="benchmarks"><label>environment<br><select name="environment" '
            f'id="environment-select" onchange="this.form.config_id.value=\'\';this.form.submit()">{env_options}</select></label>'
            f'<label>configuration<br><select name="config_id" id="config-select" onchange="this.form.submit()">{config_options}</select></label>'
            f'<noscript><button>show</button></noscript></form>')


def change_cell(change: Any, worse: bool = False) -> str:
    """A change vs the previous result as a signed percentage; a worse P95 (beyond the threshold) marked in red."""
    if change is None:
        return '<td class="n muted">first result</td>'
    if worse:
        return f'<td class="n bad flag" data-worse="1">▲ {change:+.1%} worse</td>'
    return td_num(f"{change:+.1%}")


def minute(value: Any) -> str:
    """A result's time to the minute (results are days apart; microseconds are noise on a page)."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else str(value or "")


def benchmark_latest_table(rows: list[dict[str, Any]]) -> str:
    was = lambda v: "" if v is None else f' <span class="muted">(was {v:.1%})</span>'
    return table(
        ["configuration", "model", "result", "P50 ms", "P95 ms", "P95 95% CI", "P99 ms", "req/s", "$/query", "error rate",
         "P95 vs previous", "req/s vs previous", "$/query vs previous"],
        [[e(r["config_id"]), f'<span class="muted">{e(r["model_id"])}</span>', f'{e(r["result_id"])}<br><span class="muted">{e(minute(r["created_at"]))}</span>',
          td_num(num(r["p50_ms"], "{:,.0f}")), td_num(num(r["p95_ms"], "{:,.0f}")),
          td_num(f'{num(r["p95_ci_low"], "{:,.0f}")} – {num(r["p95_ci_high"], "{:,.0f}")}'), td_num(num(r["p99_ms"], "{:,.0f}")),
          td_num(num(r["throughput_rps"], "{:.2f}")), td_num(usd(r["cost_per_query_usd"])), td_num(pct(r["error_rate"]) + was(r["error_rate_previous"])),
          change_cell(r["p95_change"], r["p95_worse"]), change_cell(r["throughput_change"]), change_cell(r["cost_change"])] for r in rows],
        "bench-latest")


def benchmark_worse_notice(rows: list[dict[str, Any]]) -> str:
    worse = [r for r in rows if r["p95_worse"]]
    if not worse:
        return ""
    names = ", ".join(f'{r["config_id"]} ({r["p95_change"]:+.1%})' for r in worse)
    return (f'<p class="notice bad" id="bench-worse">P95 latency got worse by more than {P95_WORSE:.0%} vs the previous result: '
            f'{e(names)}. <span class="muted">The weekly model_benchmark compare judges it against the accepted baseline.</span></p>')


def benchmarks_page(environments: list[str], environment: str, configs: list[str], config_id: str | None,
                    trend_rows: list[dict[str, Any]], latest_rows: list[dict[str, Any]]) -> str:
    results = len({r["result_id"] for r in trend_rows})
    scope = config_id or f"{len(configs)} configurations"
    body = (benchmark_filters(environments, environment, configs, config_id)
            + f'<p id="bench-summary">{results} results in environment <b>{e(environment)}</b> ({e(scope)}), oldest to newest.</p>'
            + chart("bench-p95", figures.benchmark_p95(trend_rows, "P95 latency per configuration (error bars: 95% CI)"))
            + chart("bench-throughput-cost", figures.benchmark_throughput_cost(trend_rows, "throughput and cost per query"))
            + "<h2>Latest result per configuration</h2>" + benchmark_worse_notice(latest_rows) + benchmark_latest_table(latest_rows))
    return layout(f"Benchmarks — {environment}", "benchmarks", body)
