"""The static report of one run: the Evaluation page's charts and tables for every intent the run measured, and the
Routing page's table and projection, in ONE self-contained HTML file that opens offline (a mail attachment, an S3
link): no CDN, no request at all.

plotly.js (4.8 MB, from the plotly package) would make a report over the 3 MB target on its own, so it is embedded
gzip-compressed and base64-encoded (about 2 MB) and inflated in the browser with the standard DecompressionStream API
(Chromium 80+, Firefox 113+, Safari 16.4+) before the charts are drawn. The tables are plain HTML and read without it."""

from __future__ import annotations

import base64
import gzip
from functools import lru_cache
from typing import Any

from mangaeval.dashboards import pages
from mangaeval.dashboards.queries import NotFound, Reader

REPORT_KEY = "reports/run_id={run_id}/index.html"
TREND_NIGHTS = 30  # the report's trend shows the last 30 nights (the page shows them all): a month is what a reader compares


@lru_cache(maxsize=1)
def plotly_gz_b64() -> str:
    from mangaeval.dashboards.app import plotly_js_path

    return base64.b64encode(gzip.compress(plotly_js_path().read_bytes(), compresslevel=9, mtime=0)).decode("ascii")


def _inline_plotly() -> str:
    loader = ("(async function(){var b=atob(document.getElementById('plotly-gz').textContent.trim()),u=new Uint8Array(b.length);"
              "for(var i=0;i<b.length;i++)u[i]=b.charCodeAt(i);"
              "var js=await new Response(new Blob([u]).stream().pipeThrough(new DecompressionStream('gzip'))).text();"
              "var s=document.createElement('script');s.textContent=js;document.head.appendChild(s);renderCharts();})();")
    return (f'<script type="application/octet-stream" id="plotly-gz">{plotly_gz_b64()}</script>'
            f"<script>{pages.RENDER_JS}window.addEventListener('load',function(){{{loader}}});</script>")


def build_report(reader: Reader, run_id: str, routing: dict[str, Any] | None, calibration: Any = None) -> str:
    """The report's HTML. `routing`: the Routing page's view (queries.routing_view) or None when nothing is published;
    `calibration`: the live-calibration settings (default include/config/live_calibration.yaml)."""
    intents = reader.run_intents(run_id)  # NotFound for a run the warehouse does not hold
    rows = reader.evaluation_run(run_id)
    sections = []
    for intent in intents:
        mine = [r for r in rows if r["intent"] == intent]
        trend = reader.trend(intent)
        keys = sorted({r["run_sort_key"] for r in trend})[-TREND_NIGHTS:]
        trend = [r for r in trend if r["run_sort_key"] in set(keys)]
        sections.append(f'<h2 id="intent-{pages.e(intent)}">{pages.e(intent)}</h2>' + pages.evaluation_section(mine, run_id, intent, f"-{intent}")
                        + pages.chart(f"trend-{intent}", pages.figures.trend(trend, f"{intent}: last {len(keys)} nights")))
    sections.append(pages.calibrated_section(reader.calibrated_projection(run_id, calibration)))  # golden set vs live traffic
    toc = " · ".join(f'<a href="#intent-{pages.e(i)}">{pages.e(i)}</a>' for i in intents)
    if routing:
        document = routing["document"]
        routing_html = (f'<h2 id="routing">Routing table (ledger version {pages.e(document.get("ledger_version"))}, run '
                        f'{pages.e(document.get("run_id"))})</h2>' + pages.routes_table(document)
                        + "<h2>Monthly projection</h2>" + pages.projection_section(routing["projection"]))
    else:
        routing_html = '<p class="notice">No routing table published yet.</p>'
    body = (f'<p>Run <b>{pages.e(run_id)}</b>: {len(intents)} intents. {toc} · <a href="#calibrated-projection">projection at live '
            f'traffic</a> · <a href="#routing">routing</a>. '
            f'Self-contained: opens offline.</p>' + "".join(sections) + routing_html)
    return pages.layout(f"Evaluation report — {run_id}", "", body, plotly_src=None, head_extra=_inline_plotly())


def render_report(run_id: str | None = None, calibration: Any = None) -> tuple[str, str]:
    """(run id, HTML) of a run's report, from the configured warehouse and object store (default run: the latest);
    `calibration`: the live-calibration settings (default include/config/live_calibration.yaml)."""
    from mangaeval.dashboards.app import open_warehouse
    from mangaeval.dashboards.queries import routing_view
    from mangaeval.objectstore import open_store

    try:
        routing = routing_view(open_store())
    except NotFound:
        routing = None
    with open_warehouse() as warehouse:
        reader = Reader(warehouse)
        run_id = run_id or reader.latest_run()
        if run_id is None:
            raise NotFound("no evaluation run in the warehouse yet: run model_evaluation (make run)")
        return run_id, build_report(reader, run_id, routing, calibration)


def calibrated_for_report(run_id: str | None = None, calibration: Any = None) -> dict[str, Any]:
    """`mangaeval report`'s projection at live traffic's sizes: of `run_id` (default: the latest run in the warehouse), the
    warehouse opened read-only as the pages open it; `available` False with the reason where there is no warehouse or run."""
    from mangaeval.dashboards.app import open_warehouse
    from mangaeval.warehouse.live_calibration import calibrated_projection

    try:
        with open_warehouse() as warehouse:
            reader = Reader(warehouse)
            run_id = run_id or reader.latest_run()
            if run_id is None:
                raise NotFound("no evaluation run in the warehouse yet: run model_evaluation (make run)")
            reader.run_intents(run_id)  # NotFound for a run the warehouse does not hold
            return calibrated_projection(warehouse, run_id, calibration)
    except NotFound as exc:
        return {"run_id": run_id, "available": False, "reason": str(exc)}
    except Exception as exc:  # a warehouse that cannot be read now (a writer's lock): the rest of the report still prints
        return {"run_id": run_id, "available": False, "reason": f"the warehouse could not answer: {str(exc).splitlines()[0][:200]}"}


def latest_report_key(store: Any) -> str | None:
    """The key of the newest run's report in the store (runs ordered by the time in their id, as mart_eval_runs does:
    a run that changed no route is still the newest report)."""
    keys = [k for k in store.list("reports/") if k.endswith("/index.html") and "run_id=" in k]
    run_time = lambda key: key.split("run_id=", 1)[1].rsplit("/", 1)[0].split("__", 1)[-1]
    return max(keys, key=run_time) if keys else None


def publish_report(run_id: str) -> str:
    """Write the run's report to the object store beside the routing document: reports/run_id=<run>/index.html."""
    from mangaeval.objectstore import open_store

    run_id, text = render_report(run_id)
    store = open_store()
    key = REPORT_KEY.format(run_id=run_id)
    store.put(key, text.encode("utf-8"))
    return f"{store.uri}/{key}"
