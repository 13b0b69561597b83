"""`mangaeval`: the command line of the MangaAssist evaluation system."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from mangaeval.errors import MangaEvalError

EXIT_BAD_INPUT = 2


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def cmd_golden_validate(args: argparse.Namespace) -> int:
    from mangaeval.golden import validate_path
    from mangaeval.golden_dedupe import analyse_path

    cases, problems = validate_path(args.path)
    report = None
    if args.path.exists():
        report, _ = analyse_path(args.path, threshold=args.near_threshold, n=args.ngram)
    if args.json:
        doc = {"path": str(args.path), "valid": not problems, "cases": len(cases), "problems": problems}
        if report is not None:
            doc["dedupe"] = report.to_json()
        _print_json(doc)
    else:
        for problem in problems:
            print(problem, file=sys.stderr)
        if report is not None:
            findings = report.lines()
            if findings and not report.enforced:
                print(f"warning: {args.path} declares no min_distinct_share in its manifest: the "
                      f"{len(findings)} duplicate finding(s) below are warnings, not failures", file=sys.stderr)
            for line in findings:
                print(("warning: " if not report.enforced else "") + line, file=sys.stderr)
            print("\n".join(report.table()))
            print(f"exact duplicates: {len(report.exact)}, near-duplicate query pairs (>= {args.near_threshold:g}, "
                  f"{args.ngram or 'auto'}-grams): {len(report.near)}, conflicting label groups: {len(report.conflicts)}")
        print(f"{args.path}: {len(cases)} valid case(s), {len(problems)} problem(s)")
    return EXIT_BAD_INPUT if problems else 0


def cmd_golden_import(args: argparse.Namespace) -> int:
    from mangaeval.golden import load_dataset
    from mangaeval.golden_import import import_logs, load_mapping, write_drafts

    mapping = load_mapping(args.mapping)
    base = load_dataset(args.dataset) if args.dataset else None
    result = import_logs(args.source, mapping, base, sample=args.sample, per_stratum=args.per_stratum, seed=args.seed,
                         threshold=args.near_threshold)
    for problem in result.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    write_drafts(result.drafts, args.out)
    if args.json:
        _print_json({"out": str(args.out), **result.stats, "skipped": result.problems})
    else:
        st = result.stats
        print(f"{args.source}: {st['rows']} row(s), {st['malformed']} malformed (skipped), {st['exact_duplicates']} exact "
              f"and {st['near_duplicates']} near duplicate(s) of {base.version if base else 'the import'} dropped; "
              f"{st['drafts']} draft(s) written to {args.out} (redacted: "
              + (", ".join(f"{k} {v}" for k, v in st["redactions"].items()) or "nothing") + ")")
        for stratum, n in st["strata"].items():
            print(f"  {stratum:<28}{n:>6}")
    return 0


def cmd_golden_review(args: argparse.Namespace) -> int:
    from mangaeval.golden import load_dataset
    from mangaeval.golden_import import build_version, interactive_decisions, read_decisions, read_drafts
    from mangaeval.paths import GOLDEN_DIR

    drafts = read_drafts(args.drafts)
    base = load_dataset(args.base) if args.base else None
    if args.decisions:
        decisions = read_decisions(args.decisions)
    else:
        if not sys.stdin.isatty():
            raise MangaEvalError("review: no --decisions file and no terminal to ask on")
        decisions = interactive_decisions(drafts)
    out_root = args.out or GOLDEN_DIR
    generator = f"mangaeval golden review {args.drafts} --version {args.version}" + (f" --base {base.version}" if base else "")
    result = build_version(args.drafts, decisions, drafts, base, args.version, out_root, generator)
    print(f"{result.path}: {result.accepted} accepted, {result.rejected} rejected, {len(result.undecided)} undecided "
          f"(left out); {result.total_cases} case(s) in the new version, which validates")
    return 0


def cmd_golden_generate(args: argparse.Namespace) -> int:
    from mangaeval import golden_generator

    argv = ["--version", args.version, "--per-intent", str(args.per_intent), "--seed", str(args.seed)]
    if args.out:
        argv += ["--out", str(args.out)]
    if args.edge_cases:
        argv.append("--edge-cases")
    if args.recipe != "v1":
        argv += ["--recipe", args.recipe]
    return golden_generator.main(argv)


def cmd_configs_validate(args: argparse.Namespace) -> int:
    """Every invocation rule of models.yaml checked on the catalog and the configurations; no model is called."""
    from mangaeval.models import load_configurations, load_model_catalog

    catalog = load_model_catalog(args.models)
    configs = load_configurations(args.configs, catalog)
    if args.json:
        _print_json({"models": len(catalog), "configurations": [
            {**c.to_dict(), "invoke_id": catalog[c.model_id].invoke_id, "api": catalog[c.model_id].api} for c in configs.values()]})
    else:
        for c in configs.values():
            spec = catalog[c.model_id]
            print(f"{c.id:<18} -> {spec.invoke_id} ({spec.api}; sampling {spec.sampling}; max {spec.max_output_tokens} tokens)")
        print(f"{len(catalog)} models, {len(configs)} configurations: all valid")
    return 0


class _Terminated(Exception):
    """SIGTERM to `double serve`: leave serve_forever through its clean-up (pidfile removed)."""


def _say(message: str) -> None:
    """Print, even when whoever read our stdout is gone (a killed parent's pipe): then print nothing more."""
    try:
        print(message, flush=True)
    except OSError:
        sys.stdout = open(os.devnull, "w")


def cmd_double_serve(args: argparse.Namespace) -> int:
    import signal

    from mangaeval.double.profiles import load_profiles, parse_overrides
    from mangaeval.double.server import make_server, pidfile_for, process_alive, remove_pidfile, watch_lifetime, write_pidfile

    if args.parent_pid and not process_alive(args.parent_pid):
        raise MangaEvalError(f"--parent-pid {args.parent_pid}: no such process")
    profiles = load_profiles(args.profiles, overrides=parse_overrides(args.override or []))
    try:
        server = make_server(host=args.host, port=args.port, seed=args.seed, time_scale=args.time_scale, profiles=profiles,
                             fixtures=args.fixtures, fixtures_miss=args.fixtures_miss)
    except OSError as exc:
        raise MangaEvalError(f"--host {args.host} --port {args.port}: cannot listen there ({exc.strerror or exc})") from None
    pidfile = args.pidfile or (pidfile_for(args.run_id) if args.run_id else None)

    def terminate(*_: object) -> None:
        raise _Terminated

    signal.signal(signal.SIGTERM, terminate)
    try:
        if pidfile:
            write_pidfile(pidfile, server.url, args.run_id)
        lifetime = [f"stops after {args.idle_timeout:g} s without a request"] if args.idle_timeout else []
        lifetime += [f"stops when process {args.parent_pid} is gone"] if args.parent_pid else []
        fixtures = server.double.script.fixtures
        lifetime += [f"serving {len(fixtures.library.fixtures)} fixtures of {fixtures.library.path}, unknown prompts "
                     f"{'generated' if fixtures.miss == 'generate' else 'refused'}"] if fixtures else []
        _say(f"model double listening on {server.url} ({len(profiles)} models, seed {args.seed}, time scale {args.time_scale}"
             f"{''.join('; ' + x for x in lifetime)})")
        watch_lifetime(server, idle_timeout_s=args.idle_timeout, parent_pid=args.parent_pid)
        server.serve_forever()
        if server.stop_reason:
            _say(f"model double stopped: {server.stop_reason}")
    except (KeyboardInterrupt, _Terminated):
        pass
    finally:
        server.server_close()
        if pidfile:
            remove_pidfile(pidfile)
    return 0


def cmd_double_stop(args: argparse.Namespace) -> int:
    from mangaeval.double.server import pidfile_for, stop_by_pidfile

    pidfile = args.pidfile or pidfile_for(args.run_id)
    result = stop_by_pidfile(pidfile)
    if result["pid"] is None:
        raise MangaEvalError(f"{pidfile}: no such pidfile: no model double recorded" + (f" for run {args.run_id}" if args.run_id else ""))
    if args.json:
        _print_json(result)
    elif result["stopped"]:
        print(f"stopped the model double pid {result['pid']} ({pidfile})")
    else:
        print(f"{pidfile}: pid {result['pid']} is gone or not a model double: nothing stopped, pidfile removed")
    return 0


def add_endpoint_options(cmd: argparse.ArgumentParser, *, time_scale: float, double_overrides: bool = True) -> None:
    """The options `endpoint_for` reads: where the models are (an endpoint, real AWS, else a double started for the
    command) and how that double runs. `time_scale`: its default (0 for evaluations, 1 for latency benchmarks)."""
    from mangaeval.argtypes import non_negative_float

    cmd.add_argument("--endpoint-url", help="Bedrock Runtime endpoint (default: env, else a model double is started)")
    cmd.add_argument("--aws", action="store_true", help="call real AWS Bedrock (credentials: the standard AWS chain) instead of the double")
    cmd.add_argument("--seed", type=int, default=0, help="seed of the started model double")
    cmd.add_argument("--time-scale", type=non_negative_float, default=time_scale,
                     help=f"time scale of the started model double (default {time_scale:g}; 1 = real time)")
    if double_overrides:
        cmd.add_argument("--double-override", action="append", help="NAME=VALUE profile override for the started double")
    else:
        cmd.set_defaults(double_override=None)


@contextlib.contextmanager
def endpoint_for(args: argparse.Namespace) -> Iterator[dict[str, str | None]]:
    """The configured endpoints (Bedrock, and SageMaker for InvokeEndpoint models), or a model double started for
    this command, serving both, and stopped after it."""
    configured = args.endpoint_url or os.environ.get("MANGAEVAL_BEDROCK_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
    if configured or args.aws:
        yield {"endpoint_url": configured, "sagemaker_endpoint_url": None}  # SageMaker: its env var or the AWS default
        return
    from mangaeval.double.server import DoubleProcess

    with DoubleProcess(seed=args.seed, time_scale=args.time_scale, overrides=args.double_override) as double:
        if not args.json:
            print(f"no Bedrock endpoint configured: started the model double at {double.url}", file=sys.stderr)
        yield {"endpoint_url": double.url, "sagemaker_endpoint_url": double.url}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.engine import EngineSettings, EvaluationEngine
    from mangaeval.golden import load_dataset
    from mangaeval.models import load_configurations, load_model_catalog, select_configurations
    from mangaeval.results import write_results
    from mangaeval.scoring import Scorer, load_scoring_config
    from mangaeval.summary import format_summary, summarize

    if args.double_override:
        from mangaeval.double.profiles import parse_overrides

        parse_overrides(args.double_override)  # bad NAME=VALUE: a message now, not a double that fails to start
    if not _split(args.configs):
        raise MangaEvalError("--configs: no configuration id given")
    if args.run_id is not None and (not args.run_id.strip() or args.run_id in (".", "..") or any(c in args.run_id for c in "/\\")):
        raise MangaEvalError(f"--run-id {args.run_id!r}: must be a plain folder name (no '/', '\\', '.' or '..')")
    catalog = load_model_catalog()
    configurations = load_configurations(args.config_file, catalog)
    configs = select_configurations(configurations, _split(args.configs))
    judge_config = select_configurations(configurations, [args.judge])[0] if args.judge else None
    scorer = Scorer(load_scoring_config())  # a bad scoring policy fails here, before any model is called
    dataset = load_dataset(args.dataset)
    cases = dataset.cases
    if args.intents:
        wanted = _split(args.intents)
        unknown = sorted(set(wanted) - {c.intent for c in dataset.cases})
        if unknown:
            raise MangaEvalError(f"--intents: unknown or empty intent(s) {unknown} in dataset {dataset.version}")
        cases = [c for c in cases if c.intent in wanted]
    if args.limit is not None:
        if args.limit < 1:
            raise MangaEvalError("--limit must be a positive number of cases per intent")
        from mangaeval.golden import sample_per_intent

        cases = sample_per_intent(cases, args.limit, args.sample_seed)  # stratified by language and tags, as the DAG samples
    run_id = args.run_id or "manual__" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = Path(args.out) / run_id
    with endpoint_for(args) as endpoints:
        client = BedrockClient(ClientSettings.from_env(**endpoints, backoff_base_s=args.retry_base_s))
        settings = EngineSettings.from_files(use_cache=not args.no_cache, reuse_across_runs=args.reuse_answers, cache_dir=args.cache_dir,
                                             stream=args.stream, concurrency_override=args.concurrency)
        engine = EvaluationEngine(client, catalog, settings)
        total = len(configs) * len(cases)
        with tqdm(total=total, desc="evaluating", unit="call", disable=args.json or args.no_progress, file=sys.stderr) as bar:
            frame, stats = engine.evaluate(configs, cases, run_id=run_id, dataset_version=dataset.version, progress=bar.update)
        if judge_config is not None:
            from mangaeval.scoring.judge import Judge

            judge = Judge(client, judge_config, cache=engine.cache, scorer=scorer)
            with tqdm(total=int((frame["status"] == "ok").sum()), desc="judging", unit="answer",
                      disable=args.json or args.no_progress, file=sys.stderr) as bar:
                frame = judge.judge_frame(frame, cases, progress=bar.update)
    frame = scorer.score_frame(frame, cases)
    results_path = write_results(frame, out_dir / "results.parquet")
    summary = summarize(frame)
    doc = {
        "run_id": run_id, "dataset_version": dataset.version, "results": str(results_path),
        "gate": scorer.config.gate, "judge": judge_config.id if judge_config else None,
        "configs": [c.id for c in configs], "cases": len(cases), "rows": len(frame),
        "ok": stats.ok, "errors": stats.errors, "error_codes": dict(stats.error_codes),
        "model_calls": stats.calls_made, "cache_hits": stats.cache_hits, "elapsed_s": round(stats.elapsed_s, 3),
        "summary": summary,
    }
    if judge_config is not None:
        from mangaeval.scoring.judge import agreement

        doc["judge_agreement"] = agreement(frame, scorer.config)
    (out_dir / "summary.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    if args.json:
        _print_json(doc)
    else:
        print(format_summary(summary))
        if "judge_agreement" in doc:
            from mangaeval.scoring.judge import format_agreement

            print("\n" + format_agreement(doc["judge_agreement"]))
        print(f"\nrun {run_id}: {len(frame)} rows ({stats.ok} ok, {stats.errors} error), "
              f"{stats.calls_made} model calls, {stats.cache_hits} cache hits, {stats.elapsed_s:.1f}s")
        print(f"results: {results_path}")
    return _report_errors(stats)


EXIT_ALL_FAILED = 1  # not bad input: the endpoint or the models failed every call


def _report_errors(stats: Any) -> int:
    """Error counts by code on stderr: a warning when some calls failed, an error (exit 1) when all did."""
    if not stats.errors:
        return 0
    rows = stats.ok + stats.errors
    counts = ", ".join(f"{code or 'unknown'} {n}" for code, n in stats.error_codes.most_common())
    if stats.ok == 0:
        print(f"mangaeval: error: every call failed ({stats.errors} of {rows}): {counts}", file=sys.stderr)
        return EXIT_ALL_FAILED
    print(f"mangaeval: warning: {stats.errors} of {rows} calls failed: {counts}", file=sys.stderr)
    return 0


def cmd_score_selfcheck(args: argparse.Namespace) -> int:
    from mangaeval.golden import load_dataset
    from mangaeval.scoring import Scorer, load_scoring_config
    from mangaeval.scoring.selfcheck import format_report, run_selfcheck, unmet_targets

    dataset = load_dataset(args.dataset)
    if args.intents:
        unknown = sorted(set(_split(args.intents)) - {c.intent for c in dataset.cases})
        if unknown:
            raise MangaEvalError(f"--intents: unknown or empty intent(s) {unknown} in dataset {dataset.version}")
    cases = [c for c in dataset.cases if not args.intents or c.intent in _split(args.intents)]
    from mangaeval.robustness import dataset as robustness

    scorer = Scorer(load_scoring_config(args.scoring))
    report = run_selfcheck(cases, scorer)
    report["dataset_version"] = dataset.version
    report["unmet_targets"] = unmet_targets(report)
    # Beside the corruption set: the robustness set (answers in real-model styles, written independently of the
    # double and the scorer), per split; `dev` was used while developing the scorer, `heldout` was not.
    rows, answers_version = robustness.load(args.robustness)
    # The set answers the cases of its own golden version (v1): score it on those, whichever dataset is self-checked.
    answered = cases if answers_version == dataset.version else \
        [c for c in load_dataset(answers_version).cases if not args.intents or c.intent in _split(args.intents)]
    if answered:
        rows = [r for r in rows if not args.intents or r["intent"] in _split(args.intents)]
        report["robustness"] = {split: robustness.evaluate(rows, answered, scorer, split) for split in ("dev", "heldout")}
        report["robustness_dataset_version"] = answers_version
        for split, block in report["robustness"].items():
            block.pop("misses")
            report["unmet_targets"] += [f"robustness {split}: {p}" for p in robustness.unmet_robustness(block)]
    if args.json:
        _print_json(report)
    else:
        print(format_report(report))
        for block in report.get("robustness", {}).values():
            print()
            print(robustness.format_robustness(block))
        print("targets: " + ("all met" if not report["unmet_targets"] else "NOT MET: " + "; ".join(report["unmet_targets"])))
    return 1 if report["unmet_targets"] and args.strict else 0


def cmd_score_results(args: argparse.Namespace) -> int:
    from mangaeval.golden import load_dataset
    from mangaeval.results import read_results, write_results
    from mangaeval.scoring import Scorer, load_scoring_config
    from mangaeval.summary import format_summary, summarize

    frame = read_results(args.results)
    missing = [c for c in ("dataset_version", "test_id", "status", "response_text") if c not in frame.columns]
    if missing:
        raise MangaEvalError(f"{args.results}: missing column(s) {missing} of the result-row layout")
    versions = sorted(set(frame["dataset_version"].dropna()))
    if len(versions) != 1:
        raise MangaEvalError(f"{args.results}: expected results of one dataset version, found {versions}")
    dataset = load_dataset(args.dataset or versions[0])
    frame = Scorer(load_scoring_config(args.scoring)).score_frame(frame, dataset.cases)
    if args.out:
        write_results(frame, Path(args.out))
    summary = summarize(frame)
    if args.json:
        _print_json({"results": str(args.results), "dataset_version": dataset.version, "summary": summary})
    else:
        print(format_summary(summary))
    return 0


def cmd_score_calibrate(args: argparse.Namespace) -> int:
    """Agreement of the scorer's gate (and the LLM judge, where it ran) with people's labels of a run's answers."""
    from mangaeval.scoring import load_scoring_config
    from mangaeval.scoring.calibration import calibrate, format_report, load_results, read_labels

    config = load_scoring_config(args.scoring)
    labels = read_labels(args.labels)
    frame, where = load_results(args.results)
    if args.rescore:  # today's scorer on the same answers: did a scorer change bring it closer to people?
        from mangaeval.golden import load_dataset
        from mangaeval.scoring import Scorer

        versions = sorted(set(frame["dataset_version"].dropna())) if "dataset_version" in frame else []
        if not args.dataset and len(versions) != 1:
            raise MangaEvalError(f"{where}: --rescore needs one dataset version, found {versions}: give --dataset")
        frame = Scorer(config).score_frame(frame, load_dataset(args.dataset or versions[0]).cases)
    elif "passed" not in frame or not frame["passed"].notna().any():
        raise MangaEvalError(f"{where}: the results are not scored: add --rescore (or run `mangaeval score results`)")
    report = calibrate(labels, frame, config.gate, where, top=args.top)
    report["rescored"] = bool(args.rescore)
    _print_json(report) if args.json else print(format_report(report))
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    from mangaeval.models import load_configurations, load_model_catalog
    from mangaeval.results import read_results
    from mangaeval.routing.document import build_document, from_bytes
    from mangaeval.warehouse import decide
    from mangaeval.warehouse.policy import load_policy

    try:
        frame = read_results(args.results)
    except (FileNotFoundError, OSError, ValueError) as exc:
        raise MangaEvalError(f"{args.results}: cannot read results ({exc})") from None
    current = None
    if args.current_routing:
        try:
            document = from_bytes(Path(args.current_routing).read_bytes(), str(args.current_routing))
        except OSError as exc:
            raise MangaEvalError(f"{args.current_routing}: cannot read ({exc.strerror})") from None
        current = {intent: route["config_id"] for intent, route in document["routes"].items()}
    policy = load_policy()
    decision = decide(frame, current, policy, where=str(args.results))
    versions = sorted(set(frame["dataset_version"].dropna())) if "dataset_version" in frame else []
    routing = build_document(decision["run_id"], versions[0] if versions else "unknown", "what-if",
                             decision["recommendation"], load_configurations(None, load_model_catalog()), policy.default_config_id)
    doc = {"aggregates": decision["aggregates"], "frontier": decision["frontier"], "routing": routing, "projection": decision["projection"]}
    if args.json:
        _print_json(doc)
    else:
        print(format_routing(routing))
        print(format_projection(decision["projection"]))
    return 0


def format_routing(document: dict[str, Any]) -> str:
    version = f", ledger version {document['ledger_version']}" if document.get("ledger_version") is not None else ""
    lines = [f"routing by {document['run_id']} (dataset {document['dataset_version']}{version}):",
             f"  {'intent':<17} {'configuration':<16} {'quality':>8} {'pass':>6} {'p95 ms':>8} {'cost/call $':>12}  {'set by':<18} reason"]
    for intent, r in document["routes"].items():
        q = "-" if r["mean_quality"] is None else f"{r['mean_quality']:.3f}"
        p = "-" if r["pass_rate"] is None else f"{r['pass_rate']:.0%}"
        l = "-" if r["latency_p95_ms"] is None else f"{r['latency_p95_ms']:.0f}"
        c = "-" if r["mean_cost_usd"] is None else f"{r['mean_cost_usd']:.6f}"
        by = (r.get("set_by") or {}).get("kind", "-") + (" (held)" if r.get("held") else "")
        lines.append(f"  {intent:<17} {r['config_id']:<16} {q:>8} {p:>6} {l:>8} {c:>12}  {by:<18} "
                     f"{'FLAGGED: ' if r['flagged'] else ''}{r['reason']}")
    lines.append(f"  {'(unknown)':<17} {document['default']['config_id']}")
    return "\n".join(lines)


def _usd(v: Any) -> str:
    return "-" if v is None else f"${v:,.0f}"


def format_projection(projection: dict[str, Any]) -> str:
    """A run's projection (per configuration on every intent it measured) from decisions_document()."""
    lines = ["monthly projection of this run's configurations (1M messages/day x intent mix x 30 days, after cache hits):",
             f"  recommended routing {_usd(projection['recommended_monthly_usd'])}   all-premium baseline "
             f"{_usd(projection['baseline_monthly_usd'])}   savings {_usd(projection['savings_monthly_usd'])}"]
    for config_id, value in sorted(projection["per_configuration"].items()):
        lines.append(f"  {config_id:<16} on every intent: {_usd(value)}")
    return "\n".join(lines)


def format_table_projection(projection: dict[str, Any]) -> str:
    """The published table's projection: every intent of the mix at the figures of what serves it."""
    lines = [f"monthly projection of the routing table ({projection['intents']} intents, 1M messages/day x mix x 30 days, after cache hits):",
             f"  routing table {_usd(projection['recommended_monthly_usd'])}   all-premium baseline {_usd(projection['baseline_monthly_usd'])}"
             f"   savings {_usd(projection['savings_monthly_usd'])}"]
    for row in projection["per_intent"]:
        lines.append(f"  {row['intent']:<17} {row['config_id']:<16} {_usd(row['recommended_monthly_usd']):>10}  baseline "
                     f"{_usd(row['baseline_monthly_usd']):>10}  ({row['set_by'] or '-'})")
    if projection["unmeasured_intents"]:
        lines.append(f"  not projected: no measured cost for {', '.join(projection['unmeasured_intents'])} (total left out rather than counted as $0)")
    if projection["baseline_unmeasured_intents"]:
        lines.append(f"  baseline not measured on: {', '.join(projection['baseline_unmeasured_intents'])}")
    return "\n".join(lines)


def format_diff(doc: dict[str, Any]) -> str:
    lines = [f"ledger version {doc['from_version']} ({doc['from_run']}) -> {doc['to_version']} ({doc['to_run']}):"]
    for intent, change in doc["intents"].items():
        if change["status"] == "added":
            moved = f"(added) -> {change['to']}"
        elif change["status"] == "removed":
            moved = f"{change['from']} -> (removed)"
        elif change["changed"]:
            moved = f"{change['from']} -> {change['to']}"
        else:
            moved = f"{change['from']} (unchanged)"
        dq, dc = change.get("mean_quality"), change.get("mean_cost_usd")
        figures = "" if change["status"] in ("added", "removed") else (
            f"quality {'' if dq is None else f'{dq:+.3f}'}  cost/call {'' if dc is None else f'{dc:+.6f}'}")
        lines.append(f"  {intent:<17} {moved:<40} {figures}")
    return "\n".join(lines)


def format_history(entries: list[dict[str, Any]]) -> str:
    lines = []
    for e in entries:
        actor = e["actor"]
        who = f"{actor['kind']} {actor['id']}" + (f" stage {actor['stage']}" if actor.get("stage") else "") + \
            (f" look {actor['look']}" if actor.get("look") else "")
        lines.append(f"v{e['version']:<4} {e['at']}  {who}  (based on v{e['based_on']})")
        for c in e["changes"]:
            lines.append(f"        {c['intent']:<17} {c['from'] or '(none)'} -> {c['to']}  [{c['kind']}] {c.get('reason', '')}")
        for d in e.get("declined", []):
            lines.append(f"        {d['intent']:<17} not changed: {d['why']}")
    return "\n".join(lines) if lines else "the routing ledger is empty: nothing published yet"


def cmd_routing(args: argparse.Namespace) -> int:
    from mangaeval.routing import ledger, publish as routing
    from mangaeval.objectstore import open_store

    store = open_store(args.store_uri, endpoint_url=args.endpoint_url)
    if args.routing_command == "show":
        doc = routing.current_document(store)
        if doc is None:
            raise MangaEvalError(f"{store.uri}: no routing table has been published yet")
        _print_json(doc) if args.json else print(format_routing(doc))
    elif args.routing_command == "history":
        entries = ledger.history(store, args.intent)
        _print_json(entries) if args.json else print(format_history(entries))
    elif args.routing_command == "diff":
        doc = routing.diff(routing.document_for(store, args.a), routing.document_for(store, args.b))
        _print_json(doc) if args.json else print(format_diff(doc))
    else:
        person = args.by or os.environ.get("USER") or "unknown"
        result = routing.rollback(store, args.to, person, args.why or "")
        if args.json:
            _print_json(result)
        elif result["changed"]:
            print(f"routing ledger version {result['version']}: routes of version {result['rolled_back_to']} restored by {person} "
                  f"({', '.join(c['intent'] for c in result['changes'])})")
        else:
            print(f"the current routes already equal version {result['rolled_back_to']}: nothing written")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """What serves now: the routing table, who set each route, its projection over every intent, where the data is."""
    from mangaeval.pipeline.storage import default_results_root
    from mangaeval.routing.projection import project
    from mangaeval.routing.publish import current_document
    from mangaeval.objectstore import open_store
    from mangaeval.warehouse.policy import load_policy
    from mangaeval.dashboards.report import calibrated_for_report
    from mangaeval.warehouse.live_calibration import format_calibrated

    calibration = _calibration_settings(args)
    if args.html is not None:
        return _write_html_report(args, calibration)
    store = open_store()
    document = current_document(store)
    if document is None:
        raise MangaEvalError(f"{store.uri}: no routing table has been published yet (run `make run`)")
    projection = project(document, load_policy())
    where = {"routing_table": f"{store.uri}/routing/current.json", "ledger": f"{store.uri}/routing/ledger/",
             "results": f"{default_results_root()}/results/run_id={document['run_id']}/",
             "warehouse": os.environ.get("MANGAEVAL_WAREHOUSE_URI", "duckdb (data/warehouse.duckdb)")}
    from mangaeval.dashboards.report import latest_report_key

    report_key = latest_report_key(store)  # written by model_evaluation's publish_report task, one per run
    if report_key is not None:
        where["report"] = f"{store.uri}/{report_key}"
    calibrated = calibrated_for_report(None, calibration)  # the latest run, at live traffic's sizes
    if args.json:
        _print_json({"routing": document, "projection": projection, "calibrated_projection": calibrated, "where": where})
    else:
        print(format_routing(document))
        print(format_table_projection(projection))
        print(format_calibrated(calibrated))
        print("\n".join(f"{name}: {value}" for name, value in where.items()))
    return 0


def _calibration_settings(args: argparse.Namespace) -> Any:
    """include/config/live_calibration.yaml with --window-days / --min-events applied."""
    from dataclasses import replace

    from mangaeval.warehouse.live_calibration import load_settings

    settings = load_settings()
    if args.window_days is not None:
        settings = replace(settings, window_days=args.window_days)
    if args.min_events is not None:
        settings = replace(settings, min_events=args.min_events)
    if args.as_of is not None:
        settings = replace(settings, as_of=args.as_of)
    return settings


def _write_html_report(args: argparse.Namespace, calibration: Any = None) -> int:
    """`mangaeval report --html DIR [--run-id RUN]`: the run's self-contained report as DIR/index.html."""
    from mangaeval.dashboards.queries import NotFound
    from mangaeval.dashboards.report import render_report

    try:
        run_id, text = render_report(args.run_id, calibration)
    except NotFound as exc:
        raise MangaEvalError(str(exc)) from None
    args.html.mkdir(parents=True, exist_ok=True)
    path = args.html / "index.html"
    path.write_text(text, encoding="utf-8")
    if args.json:
        _print_json({"run_id": run_id, "report": str(path), "bytes": path.stat().st_size})
    else:
        print(f"report of run {run_id}: {path} ({path.stat().st_size / 1e6:.2f} MB, self-contained: opens offline)")
    return 0


def _split(values: list[str] | str) -> list[str]:
    items = values if isinstance(values, list) else [values]
    return [v.strip() for item in items for v in item.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    from mangaeval.argtypes import float_in, iso_time, ngram_size, non_negative_float, port, positive_int, unit_interval_open_low
    from mangaeval.golden_dedupe import DEFAULT_NGRAM, DEFAULT_THRESHOLD
    from mangaeval.golden import DEFAULT_SAMPLE_SEED, DEFAULT_VERSION
    from mangaeval.paths import DATA_DIR

    parser = argparse.ArgumentParser(prog="mangaeval", description="Evaluate and route MangaAssist's Bedrock models.")
    sub = parser.add_subparsers(dest="command", required=True)

    golden = sub.add_parser("golden", help="golden datasets").add_subparsers(dest="golden_command", required=True)
    validate = golden.add_parser("validate", help="validate a dataset folder or one JSONL file")
    validate.add_argument("path", type=Path)
    validate.add_argument("--json", action="store_true")
    validate.add_argument("--near-threshold", type=unit_interval_open_low, default=DEFAULT_THRESHOLD,
                          help="n-gram Jaccard similarity at which two queries are near-duplicates (default %(default)s)")
    validate.add_argument("--ngram", type=ngram_size, default=DEFAULT_NGRAM, help="character n-gram size; 0 (default): 2 for Japanese queries, 3 otherwise")
    validate.set_defaults(func=cmd_golden_validate)
    imp = golden.add_parser("import", help="draft cases from production conversation logs (redacted, deduplicated, sampled)")
    imp.add_argument("--from", dest="source", type=Path, required=True, help="log file: JSON Lines or Parquet, one turn per row")
    imp.add_argument("--mapping", type=Path, help="YAML column mapping (default include/config/golden_import_mapping.yaml)")
    imp.add_argument("--out", type=Path, required=True, help="drafts file to write (JSON Lines; never overwritten)")
    imp.add_argument("--dataset", default=DEFAULT_VERSION, help=f"dataset to deduplicate against (default {DEFAULT_VERSION}; '' for none)")
    imp.add_argument("--sample", type=positive_int, help="at most this many drafts, stratified by intent and language")
    imp.add_argument("--per-stratum", type=positive_int, help="at most this many drafts per (intent, language)")
    imp.add_argument("--seed", type=int, default=0)
    imp.add_argument("--near-threshold", type=unit_interval_open_low, default=DEFAULT_THRESHOLD)
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_golden_import)
    rev = golden.add_parser("review", help="accept or reject drafts; accepted ones enter a new dataset version")
    rev.add_argument("drafts", type=Path)
    rev.add_argument("--decisions", type=Path, help="JSON Lines decisions (non-interactive); else asks on the terminal")
    rev.add_argument("--version", required=True, help="name of the new dataset version folder")
    rev.add_argument("--base", default=DEFAULT_VERSION, help=f"dataset whose cases the new version starts from (default {DEFAULT_VERSION}; '' for none)")
    rev.add_argument("--out", type=Path, help="parent folder of the new version (default include/golden_datasets)")
    rev.set_defaults(func=cmd_golden_review)
    generate = golden.add_parser("generate", help="regenerate a dataset version from include/store_data")
    generate.add_argument("--version", required=True)
    generate.add_argument("--per-intent", type=positive_int, required=True)
    generate.add_argument("--seed", type=int, default=20261122)
    generate.add_argument("--out", type=Path)
    generate.add_argument("--edge-cases", action="store_true", help="add long/short/emoji/typo/ambiguous/unanswerable/injection cases")
    generate.add_argument("--recipe", choices=("v1", "v2"), default="v1",
                          help="v1: template wordings and one-sentence passages (v0, v1); v2: varied wordings, production-sized grounding")
    generate.set_defaults(func=cmd_golden_generate)

    configs = sub.add_parser("configs", help="model configurations").add_subparsers(dest="configs_command", required=True)
    cvalidate = configs.add_parser("validate", help="validate the model catalog and configurations")
    cvalidate.add_argument("--configs", type=Path)
    cvalidate.add_argument("--models", type=Path)
    cvalidate.add_argument("--json", action="store_true")
    cvalidate.set_defaults(func=cmd_configs_validate)

    double = sub.add_parser("double", help="the Bedrock model double").add_subparsers(dest="double_command", required=True)
    serve = double.add_parser("serve", help="run the model double on its own")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port, default=8765, help="0 = any free port")
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--time-scale", type=non_negative_float, default=1.0, help="1 = real time, 0 = no waiting (latency still reported)")
    serve.add_argument("--profiles", type=Path)
    serve.add_argument("--override", action="append", help="NAME=VALUE applied to every model profile, e.g. throttle_rate=0.3")
    serve.add_argument("--idle-timeout", type=non_negative_float, metavar="SECONDS",
                       help="stop after this long without a request (default 0: never)")
    serve.add_argument("--parent-pid", type=positive_int, metavar="PID", help="stop within a second of this process being gone")
    serve.add_argument("--pidfile", type=Path, help="record pid and url here while serving (read by `double stop`)")
    serve.add_argument("--run-id", help="the run this double serves; its pidfile defaults to data/double/RUN_ID.pid")
    serve.add_argument("--fixtures", metavar="DIR", help="serve this fixture library (a folder or a version under include/fixtures) "
                       "by model and prompt hash")
    serve.add_argument("--fixtures-miss", choices=("generate", "refuse"), default="generate",
                       help="with --fixtures: a prompt no fixture holds is answered by the generator (default) or refused "
                            "(404 FixtureNotFoundException)")
    serve.set_defaults(func=cmd_double_serve)
    stop = double.add_parser("stop", help="stop a double by its pidfile or run id (a stale double of a killed run)")
    which = stop.add_mutually_exclusive_group(required=True)
    which.add_argument("--pidfile", type=Path)
    which.add_argument("--run-id")
    stop.add_argument("--json", action="store_true")
    stop.set_defaults(func=cmd_double_stop)

    ev = sub.add_parser("evaluate", help="run configurations against a golden dataset")
    ev.add_argument("--configs", required=True, nargs="+", help="configuration ids (comma or space separated)")
    ev.add_argument("--dataset", required=True, help="dataset folder or version name (e.g. v0)")
    ev.add_argument("--out", default=str(DATA_DIR / "results"), help="results folder (a sub-folder per run)")
    ev.add_argument("--limit", type=int, help="at most N cases per intent, sampled so each intent keeps its language and tag proportions")
    ev.add_argument("--sample-seed", type=int, default=DEFAULT_SAMPLE_SEED,
                    help=f"which cases --limit samples: the same seed picks the same cases (default {DEFAULT_SAMPLE_SEED})")
    ev.add_argument("--intents", nargs="+")
    ev.add_argument("--no-cache", action="store_true", help="no response cache at all (by default a rerun with the same --run-id "
                    "reuses what that run already paid for; a new run always asks again)")
    ev.add_argument("--reuse-answers", action="store_true", help="also reuse answers measured by earlier runs (rows record "
                    "reused_from; their latency is not reused)")
    ev.add_argument("--cache-dir", default=str(DATA_DIR / "cache" / "responses"), help="response cache: a folder or s3://bucket/prefix")
    ev.add_argument("--config-file", type=Path)
    ev.add_argument("--run-id")
    ev.add_argument("--stream", action="store_true", help="use converse-stream instead of converse")
    ev.add_argument("--concurrency", type=positive_int, help="calls in flight per model (default: include/config/quotas.yaml)")
    add_endpoint_options(ev, time_scale=0.0)
    ev.add_argument("--retry-base-s", type=non_negative_float, default=None, help="base of the exponential retry backoff")
    ev.add_argument("--judge", metavar="CONFIG_ID", help="add the LLM-as-judge dimension, judged by this configuration (off by default)")
    ev.add_argument("--no-progress", action="store_true")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_evaluate)

    rep = sub.add_parser("report", help="the published routing table, its projection and where the run's data is")
    rep.add_argument("--json", action="store_true")
    rep.add_argument("--html", type=Path, metavar="DIR", help="write the run's self-contained HTML report to DIR/index.html")
    rep.add_argument("--run-id", help="the run of the --html report (default: the latest run in the warehouse)")
    rep.add_argument("--window-days", type=float_in(0, 366, low_open=True), help="live request events of the last N days "
                     "calibrate the projection (default: include/config/live_calibration.yaml)")
    rep.add_argument("--min-events", type=positive_int, help="an intent with fewer live events keeps its golden-set figure")
    rep.add_argument("--as-of", type=iso_time, help="end of the live window (ISO-8601, UTC when no zone; default now)")
    rep.set_defaults(func=cmd_report)

    dec = sub.add_parser("decide", help="what-if: aggregates, frontier, routing and projection for a results file")
    dec.add_argument("--results", required=True, type=Path, help="a results Parquet file or folder (one run)")
    dec.add_argument("--current-routing", type=Path, help="a routing document: intents with no qualifying configuration keep it")
    dec.add_argument("--json", action="store_true")
    dec.set_defaults(func=cmd_decide)

    rt = sub.add_parser("routing", help="the published routing table and its ledger").add_subparsers(dest="routing_command", required=True)
    for name, helptext in (("show", "the current routing table"), ("history", "every change to production routing, oldest first"),
                           ("diff", "what changed between two ledger versions (or the runs that wrote them)"),
                           ("rollback", "make an earlier version's routes current again (a new ledger entry)")):
        cmd = rt.add_parser(name, help=helptext)
        if name == "history":
            cmd.add_argument("--intent", help="only the changes of this intent")
        if name == "diff":
            cmd.add_argument("a", help="ledger version (7, v7, current) or the run/experiment/rollout id that wrote it")
            cmd.add_argument("b", help="the same, for the other side")
        if name == "rollback":
            cmd.add_argument("to", help="ledger version (7, v7) or the id of the run that wrote it")
            cmd.add_argument("--by", help="who decides (default: $USER); recorded in the ledger")
            cmd.add_argument("--why", help="the reason, recorded in the ledger")
        cmd.add_argument("--store-uri", help="s3://bucket/prefix or a folder (default: MANGAEVAL_ROUTING_URI, else the data folder)")
        cmd.add_argument("--endpoint-url", help="S3 endpoint (a local S3 server)")
        cmd.add_argument("--json", action="store_true")
        cmd.set_defaults(func=cmd_routing)

    score = sub.add_parser("score", help="quality scoring").add_subparsers(dest="score_command", required=True)
    selfcheck = score.add_parser("selfcheck", help="score reference answers and corrupted variants; print separation")
    selfcheck.add_argument("--dataset", default=DEFAULT_VERSION)
    selfcheck.add_argument("--intents", nargs="+")
    selfcheck.add_argument("--scoring", type=Path, help="scoring policy file (default include/config/scoring.yaml)")
    selfcheck.add_argument("--strict", action="store_true", help="exit 1 when a self-check target is not met")
    selfcheck.add_argument("--robustness", default="v1", help="robustness set version (include/robustness_sets/)")
    selfcheck.add_argument("--json", action="store_true")
    selfcheck.set_defaults(func=cmd_score_selfcheck)
    rescore = score.add_parser("results", help="(re)score a results file against its dataset")
    rescore.add_argument("results", type=Path)
    rescore.add_argument("--dataset", help="dataset version or folder (default: the one recorded in the results)")
    rescore.add_argument("--scoring", type=Path)
    rescore.add_argument("--out", type=Path, help="write the scored rows to this Parquet file")
    rescore.add_argument("--json", action="store_true")
    rescore.set_defaults(func=cmd_score_results)
    from mangaeval.argtypes import non_negative_int

    calib = score.add_parser("calibrate", help="agreement of the scorer's gate and the judge with people's pass/fail labels")
    calib.add_argument("--labels", required=True, type=Path, help="labels file: JSON Lines (or .csv), README 'Calibration against people'")
    calib.add_argument("--results", required=True, metavar="PATH_OR_RUN_ID",
                       help="the scored run the labels are of: a results Parquet file or folder, or a run id")
    calib.add_argument("--rescore", action="store_true", help="score the answers with today's scorer instead of using the run's scores")
    calib.add_argument("--dataset", help="with --rescore: dataset version or folder (default: the one recorded in the results)")
    calib.add_argument("--scoring", type=Path, help="scoring policy file (gate; default include/config/scoring.yaml)")
    calib.add_argument("--top", type=non_negative_int, default=10, help="disagreements listed (default %(default)s)")
    calib.add_argument("--json", action="store_true")
    calib.set_defaults(func=cmd_score_calibrate)

    from mangaeval.ab.cli import register as register_ab
    from mangaeval.canary.cli import register as register_canary

    from mangaeval.bench.cli import register as register_bench
    from mangaeval.events.cli import register as register_events
    from mangaeval.fixtures.cli import register as register_fixtures
    from mangaeval.warehouse.cli import register as register_warehouse

    register_ab(sub)
    register_canary(sub)
    register_bench(sub)
    register_fixtures(sub)
    register_warehouse(sub)
    register_events(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MangaEvalError as exc:
        print(f"mangaeval: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
