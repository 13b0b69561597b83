"""`mangaeval bench` (run the suite), `bench accept`, `bench compare`, and `mangaeval cost estimate`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from mangaeval.bench.suite import DEFAULT_CONFIGS  # the nightly DAG's defaults
from mangaeval.errors import MangaEvalError

EXIT_REGRESSION = 1


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _store(args: argparse.Namespace) -> Any:
    from mangaeval.objectstore import open_store

    return open_store(args.store_uri, endpoint_url=args.s3_endpoint_url)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The suite with the command's options; the result is written to --out, the object store and the warehouse."""
    from tqdm import tqdm

    from mangaeval.bench.runner import SuiteSettings, total_requests
    from mangaeval.bench.suite import environment_label, resolve_configs, run_and_store
    from mangaeval.cli import endpoint_for

    catalog, configs = resolve_configs(_split(args.configs) or None, stream=args.stream)
    settings = SuiteSettings(requests=args.requests, warmup=args.warmup, latency_concurrency=args.latency_concurrency,
                             workers=args.workers, throughput_requests=args.throughput_requests, stream=args.stream,
                             dataset=args.dataset, sample_seed=args.sample_seed)
    store = _store(args)
    with endpoint_for(args) as endpoints:
        started = not (args.endpoint_url or args.aws or os.environ.get("MANGAEVAL_BEDROCK_ENDPOINT_URL")
                       or os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"))
        environment = environment_label(args.environment, started_double=started, aws=args.aws, endpoint_url=endpoints["endpoint_url"])
        with tqdm(total=total_requests(settings, len(configs)), desc="benchmarking", unit="req", file=sys.stderr,
                  disable=args.no_progress or args.json) as bar:
            return run_and_store(catalog, configs, settings, endpoints, store, environment=environment, progress=bar.update,
                                 out_dir=Path(args.out), warehouse_uri=args.warehouse_uri, load_warehouse=not args.no_warehouse)


def format_result(result: dict[str, Any]) -> str:
    lines = [f"{'configuration':<18} {'warm-up':>8} {'mean':>7} {'sd':>6} {'P50':>7} {'P95 [95% CI]':>22} {'P99':>7} "
             f"{'req/s@' + str(result['settings']['workers']):>9} {'P95@load':>9} {'$/query':>10} {'errors':>6} {'chain b/c/s ms':>18}"]
    for cid, c in result["configs"].items():
        s, t, ch = c["latency"]["stats"], c["throughput"], c["chain"]
        if s.get("n", 0) == 0:
            lines.append(f"{cid:<18} every call failed: {c['latency']['errors']}")
            continue
        lines.append(f"{cid:<18} {c['warmup']['stats'].get('mean', 0):>8,.0f} {s['mean']:>7,.0f} {s['sd']:>6,.0f} {s['p50']:>7,.0f} "
                     f"{s['p95']:>7,.0f} [{s['p95_ci'][0]:,.0f}-{s['p95_ci'][1]:,.0f}] {s['p99']:>7,.0f} {t['rps'] or 0:>9.2f} "
                     f"{t['latency'].get('p95', 0):>9,.0f} {c['cost']['cost_per_query_usd'] or 0:>10.6f} "
                     f"{sum(c['latency']['errors'].values()):>6} {ch['build_ms']['mean']:>5.2f}/{ch['call_ms']['mean']:,.0f}/{ch['score_ms'].get('mean', 0):.1f}")
        if c["latency"].get("ttft"):
            lines[-1] += f"  TTFT P50/P95 {c['latency']['ttft']['p50']:,.0f}/{c['latency']['ttft']['p95']:,.0f} ms"
    lines.append("(latency: client wall time in ms, retries included, measurement phase; warm-up mean reported apart)")
    lines.append("cost per query type (measured tokens in/out, $/query, cache savings/month at intents.yaml's hit rates):")
    for cid, c in result["configs"].items():
        parts = [f"{n} {v['input_tokens']:.0f}/{v['output_tokens']:.0f} ${v['cost_per_query_usd']:.5f}" for n, v in c["cost"]["per_intent"].items()]
        lines.append(f"  {cid}: " + "; ".join(parts) + f"; projected ${c['cost']['monthly_usd']:,.0f}/month, cache saves "
                     f"${c['cost']['cache_savings_monthly_usd']:,.0f}/month")
    r = result["routing"]
    lines.append(f"routing vs all-premium ({r['premium_config_id']}): " + (
        f"${r['routed_monthly_usd']:,.0f} vs ${r['premium_monthly_usd']:,.0f}/month, saves ${r['savings_monthly_usd']:,.0f}"
        + (f" (not benchmarked: {', '.join(r['unmeasured'])})" if r["unmeasured"] else "") if r["available"] else r["why"]))
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    result = run(args)
    if args.html:
        from mangaeval.bench.report import build_html

        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(build_html(result), encoding="utf-8")
    if args.json:
        _print_json({k: v for k, v in result.items() if k != "configs"} | {"configs": list(result["configs"])})
    else:
        print(format_result(result))
        print(f"result {result['result_id']}: {result['written_to']}, {result['stored_as']}" + (f", report {args.html}" if args.html else ""))
        print(f"bench finished in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from mangaeval.bench.baselines import accept, load_result

    store = _store(args)
    if args.results:
        result = _read_result(args.results)
    else:
        result = load_result(store, args.result_id)
    written = accept(store, result, configs=_split(args.configs) or None, benchmarks=_split(args.benchmarks) or None,
                     accepted_by=args.by or os.environ.get("USER") or "unknown", now=datetime.now(timezone.utc).isoformat())
    if args.json:
        _print_json({"result_id": result["result_id"], "environment": result["environment"], "baselines": written})
    else:
        for w in written:
            print(f"baseline {result['environment']}/{w['config_id']}/{w['benchmark']} v{w['version']} = result {result['result_id']}")
    return 0


def _read_result(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MangaEvalError(f"--results {path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise MangaEvalError(f"--results {path}: not JSON ({exc})") from None
    from mangaeval.bench.runner import SCHEMA

    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise MangaEvalError(f"--results {path}: not a benchmark result (schema {SCHEMA})")
    return doc


def cmd_compare(args: argparse.Namespace) -> int:
    from mangaeval.bench.compare import format_table, markdown
    from mangaeval.bench.report import build_html
    from mangaeval.bench.suite import compare_and_report, regressions

    result = _read_result(args.results) if args.results else run(args)
    if args.environment and args.results:
        result["environment"] = args.environment
    store = _store(args)
    comparison = compare_and_report(store, result, threshold=args.threshold, margin=args.margin)
    rows = comparison["figures"]
    summary = markdown(rows, result)
    for target in filter(None, [args.markdown, os.environ.get("GITHUB_STEP_SUMMARY") if args.github else None]):
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(summary)
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(build_html(result, rows), encoding="utf-8")
    if args.json:
        _print_json({k: v for k, v in comparison.items() if k != "annotations"})
    else:
        print(format_table(rows))
        print(f"verdicts and report: {comparison['report']}")
    for line in comparison["annotations"]:
        print(line)
    found = regressions(comparison)
    if found and not args.json:
        print(f"{len(found)} regression(s): exit {EXIT_REGRESSION}", file=sys.stderr)
    return EXIT_REGRESSION if found else 0


def cmd_cost_estimate(args: argparse.Namespace) -> int:
    from mangaeval.bench.cost import estimate, format_estimate, load_mix, types_from_result
    from mangaeval.paths import CONFIG_DIR

    if args.results:
        if not args.config:
            raise MangaEvalError("--results needs --config: whose measured tokens to use")
        types, factor, per_day, days = types_from_result(_read_result(args.results), args.config), args.batch_factor, None, None
    else:
        mix = load_mix(args.mix or CONFIG_DIR / "cost_mix.yaml")
        types, per_day, days = mix["query_types"], mix["messages_per_day"], mix["days_per_month"]
        factor = args.batch_factor if args.batch_factor is not None else mix["batch_price_factor"]
    doc = estimate(types, args.messages_per_day if args.messages_per_day is not None else per_day,
                   args.days if args.days is not None else days, 0.5 if factor is None else factor)
    _print_json(doc) if args.json else print(format_estimate(doc))
    return 0


def _suite_options(cmd: argparse.ArgumentParser) -> None:
    from mangaeval.argtypes import non_negative_int, positive_int
    from mangaeval.bench.runner import DEFAULT_REQUESTS
    from mangaeval.cli import add_endpoint_options
    from mangaeval.golden import DEFAULT_VERSION
    from mangaeval.paths import DATA_DIR

    cmd.add_argument("--configs", nargs="+", help=f"configuration ids (default: {', '.join(DEFAULT_CONFIGS)})")
    cmd.add_argument("--requests", type=positive_int, default=DEFAULT_REQUESTS,
                     help=f"measurement-phase requests per configuration: the ten standard prompts, then golden cases by traffic share (default {DEFAULT_REQUESTS})")
    cmd.add_argument("--warmup", type=non_negative_int, default=10, help="warm-up requests, reported apart (default 10)")
    cmd.add_argument("--latency-concurrency", type=positive_int, default=4,
                     help="requests in flight in the measurement phase (default 4; 1 = one after another)")
    cmd.add_argument("--workers", type=positive_int, default=10, help="concurrent workers of the throughput phase (default 10)")
    cmd.add_argument("--throughput-requests", type=positive_int, default=100, help="requests of the throughput phase (default 100)")
    cmd.add_argument("--stream", action="store_true", help="converse-stream: also time to first token")
    cmd.add_argument("--dataset", default=DEFAULT_VERSION, help=f"golden dataset the sampled prompts come from (default {DEFAULT_VERSION})")
    cmd.add_argument("--sample-seed", type=int, default=0, help="which golden cases are sampled (the same seed, the same prompts)")
    add_endpoint_options(cmd, time_scale=1.0, double_overrides=False)  # latency: the double at real speed
    cmd.add_argument("--out", default=str(DATA_DIR / "benchmarks"), help="folder of the result JSON")
    cmd.add_argument("--warehouse-uri", help="warehouse (default: MANGAEVAL_WAREHOUSE_URI, else the local DuckDB)")
    cmd.add_argument("--no-warehouse", action="store_true", help="do not load the result into the warehouse")
    cmd.add_argument("--no-progress", action="store_true")


def _store_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--store-uri", help="object store of results and baselines: s3://bucket/prefix or a folder "
                     "(default: MANGAEVAL_ROUTING_URI, else the data folder)")
    cmd.add_argument("--s3-endpoint-url", help="S3 endpoint (a local S3 server)")
    cmd.add_argument("--environment", help="environment label of the baselines (default: double, aws or endpoint)")
    cmd.add_argument("--json", action="store_true")


def register(sub: Any) -> None:
    from mangaeval.argtypes import non_negative_float, positive_float
    from mangaeval.bench.rule import DEFAULT_MARGIN, DEFAULT_THRESHOLD

    bench = sub.add_parser("bench", help="benchmark the models and the chain: latency, throughput, cost (README 'Benchmarks')")
    _suite_options(bench)
    _store_options(bench)
    bench.add_argument("--html", type=Path, metavar="FILE", help="write the self-contained HTML report here")
    bench.set_defaults(func=cmd_bench)
    bsub = bench.add_subparsers(dest="bench_command")
    acc = bsub.add_parser("accept", help="make a result the baseline (default: the latest stored result)")
    which = acc.add_mutually_exclusive_group()
    which.add_argument("--result-id", help="a stored result's id")
    which.add_argument("--results", type=Path, help="a result JSON file")
    acc.add_argument("--configs", nargs="+", help="only these configurations")
    acc.add_argument("--benchmarks", nargs="+", help="only these benchmarks (latency, throughput, cost, chain)")
    acc.add_argument("--by", help="who accepts (default: $USER)")
    _store_options(acc)
    acc.set_defaults(func=cmd_accept)
    cmp_ = bsub.add_parser("compare", help="run the suite (or read --results) and judge each figure against its baseline")
    _suite_options(cmp_)
    _store_options(cmp_)
    cmp_.add_argument("--results", type=Path, help="a saved result JSON instead of running the suite")
    cmp_.add_argument("--threshold", type=positive_float, default=DEFAULT_THRESHOLD, help="worse by more than this share (default 0.10)")
    cmp_.add_argument("--margin", type=non_negative_float, default=DEFAULT_MARGIN,
                      help="the 95%% interval of the worse-ratio must lie above 1 + margin (default 0)")
    cmp_.add_argument("--markdown", help="append the Markdown summary to this file")
    cmp_.add_argument("--github", action="store_true", help="also append it to $GITHUB_STEP_SUMMARY")
    cmp_.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report with the verdicts here")
    cmp_.set_defaults(func=cmd_compare)

    cost = sub.add_parser("cost", help="the cost model").add_subparsers(dest="cost_command", required=True)
    est = cost.add_parser("estimate", help="daily and monthly cost of a query mix, on demand and batch, per query type")
    est.add_argument("--mix", type=Path, help="query-mix file (default include/config/cost_mix.yaml)")
    est.add_argument("--results", type=Path, help="a bench result: the measured tokens per intent of --config, the intents' mix")
    est.add_argument("--config", help="with --results: the configuration whose tokens to use")
    est.add_argument("--messages-per-day", type=non_negative_float, help="volume (default: the mix file, else routing_policy.yaml)")
    est.add_argument("--days", type=positive_float, help="days per month (default: the mix file, else routing_policy.yaml)")
    est.add_argument("--batch-factor", type=positive_float, help="batch price as a share of on demand (default 0.5)")
    est.add_argument("--json", action="store_true")
    est.set_defaults(func=cmd_cost_estimate)
