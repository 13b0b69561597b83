"""One benchmark run, as `mangaeval bench` and the weekly `model_benchmark` DAG both do it: resolve the
configurations (every problem named before any call), run the suite, keep the result (object store, optionally a
JSON file and the warehouse); then judge it against the baselines and keep the verdicts and reports beside it.

    benchmarks/results/<result_id>.json                 the result (mangaeval.bench.baselines)
    benchmarks/reports/<result_id>/comparison.json      the verdicts of `compare` (no raw samples)
    benchmarks/reports/<result_id>/comparison.md        the Markdown summary
    benchmarks/reports/<result_id>/report.html          the self-contained HTML report with the verdicts
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from mangaeval.errors import ConfigError

DEFAULT_CONFIGS = ["sonnet-3-5-v2", "sonnet-4-5", "haiku-3-5", "nova-lite", "custom-sagemaker"]  # the nightly DAG's defaults
REPORTS = "benchmarks/reports/"


def resolve_configs(config_ids: list[str] | None, stream: bool = False) -> tuple[Any, list[Any]]:
    """(catalog, configurations), or ConfigError naming every unknown configuration or unusable option."""
    from mangaeval.models import config_problems, load_configurations, load_model_catalog, select_configurations

    catalog = load_model_catalog()
    configs = select_configurations(load_configurations(catalog=catalog), list(config_ids or DEFAULT_CONFIGS))
    problems = [p for c in configs for p in config_problems(c, catalog, f"configuration '{c.id}'", stream=stream)]
    if problems:
        raise ConfigError(problems)
    return catalog, configs


def environment_label(explicit: str | None, *, started_double: bool, aws: bool, endpoint_url: str | None) -> str:
    """Baselines are kept per environment: the double, real AWS, or some other endpoint (a proxy, a local server)."""
    if explicit:
        return explicit
    return "double" if started_double else ("aws" if aws and not endpoint_url else "endpoint")


def run_and_store(catalog: Any, configs: list[Any], settings: Any, endpoints: dict[str, str | None], store: Any, *,
                  environment: str, progress: Callable[[int], None] | None = None, out_dir: Path | None = None,
                  warehouse_uri: str | None = None, load_warehouse: bool = True) -> dict[str, Any]:
    """Run the suite through boto3 against `endpoints` and keep the result: in the object store always (create-only),
    as `<out_dir>/<result_id>.json` when asked, and in the warehouse's `benchmark_results` unless told not to."""
    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.bench.baselines import save_result
    from mangaeval.bench.runner import run_suite
    from mangaeval.invoker import ModelInvoker
    from mangaeval.routing.publish import current_document

    invoker = ModelInvoker(BedrockClient(ClientSettings.from_env(**endpoints)), catalog)
    result = run_suite(invoker, configs, settings, environment=environment, endpoint=endpoints["endpoint_url"],
                       progress=progress, routing=current_document(store))
    result["stored_as"] = f"{store.uri}/{save_result(store, result)}"
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{result['result_id']}.json"
        path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        result["written_to"] = str(path)
    if load_warehouse:
        from mangaeval.bench.warehouse import load

        result["warehouse_rows"] = load(result, warehouse_uri)
    return result


def compare_and_report(store: Any, result: dict[str, Any], *, threshold: float, margin: float) -> dict[str, Any]:
    """The verdict of every figure against its baseline, kept beside the result (JSON, Markdown, HTML report)."""
    from mangaeval.bench.compare import annotations, compare, markdown
    from mangaeval.bench.report import build_html
    from mangaeval.bench.rule import BASELINE, IMPROVEMENT, PASS, REGRESSION

    rows = compare(store, result, threshold=threshold, margin=margin)
    prefix = f"{REPORTS}{result['result_id']}/"
    summary = markdown(rows, result)
    doc = {"result_id": result["result_id"], "environment": result["environment"], "created_at": result["created_at"],
           "threshold": threshold, "margin": margin, "figures": rows,
           "counts": {s: sum(r["status"] == s for r in rows) for s in (REGRESSION, IMPROVEMENT, PASS, BASELINE)},
           "annotations": annotations(rows, result["result_id"]), "result": result.get("stored_as"),
           "markdown": f"{store.uri}/{prefix}comparison.md", "report": f"{store.uri}/{prefix}report.html"}
    store.put(f"{prefix}comparison.md", summary.encode("utf-8"))
    store.put(f"{prefix}report.html", build_html(result, rows).encode("utf-8"))
    store.put(f"{prefix}comparison.json", (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    return doc


def regressions(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    from mangaeval.bench.rule import REGRESSION

    return [r for r in comparison["figures"] if r["status"] == REGRESSION]
