"""Dashboard speed and report size on a full-size warehouse: 90 nightly runs x 9 configurations x 8 intents x 200
cases (1.3M result rows, plus the runs' cases, paired statistics, policy, mix and routing), in DuckDB.

Prints the server time of the Evaluation and Answers pages (the whole request through the FastAPI app: open the
warehouse, run the dashboard views' queries, render the HTML with its chart JSON; median of 5 after a warm-up) against
the 1 s target, and the size of one run's static report against the 3 MB target.

    .venv/bin/python benchmarks/dashboard_bench.py [--runs 90] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

CONFIGS = [("sonnet-4-5", "anthropic.claude-sonnet-4-5", 0.93, 0.0030, 2300), ("sonnet-3-5-v2", "anthropic.claude-3-5-sonnet-v2", 0.91, 0.0028, 2200),
           ("haiku-4-5", "anthropic.claude-haiku-4-5", 0.88, 0.0009, 1200), ("haiku-3-5", "anthropic.claude-3-5-haiku", 0.84, 0.0007, 900),
           ("nova-pro", "amazon.nova-pro-v1", 0.83, 0.0008, 1500), ("nova-lite", "amazon.nova-lite-v1", 0.76, 0.00012, 700),
           ("nova-micro", "amazon.nova-micro-v1", 0.70, 0.00006, 500), ("llama-70b", "meta.llama3-70b", 0.80, 0.0011, 2600),
           ("custom-sagemaker", "arn:aws:sagemaker:us-east-1:000000000000:endpoint/mangaassist-ft", 0.82, 0.0004, 3200)]
INTENTS = ["recommendation", "product_question", "faq", "order_tracking", "promotion", "checkout_help", "chitchat", "return_request"]
TAGS = ["", "multi_turn", "edge:long", "edge:short", "edge:emoji", "edge:typo", "edge:ambiguous", "edge:unanswerable", "injection:discount"]


def fill(path: Path, runs: int, cases: int = 200, seed: int = 0) -> list[str]:
    """The synthetic warehouse; returns the run ids, oldest first."""
    import duckdb

    from mangaeval.warehouse.duckdb_engine import DuckDBWarehouse

    wh = DuckDBWarehouse(str(path))
    wh.ensure_schema()
    wh.close()
    con = duckdb.connect(str(path))
    rng = np.random.default_rng(seed)
    start = datetime(2026, 9, 1, 2, 0)
    run_ids = [f"scheduled__{(start + timedelta(days=d)).isoformat()}+00:00" for d in range(runs)]
    n_cfg, n_int = len(CONFIGS), len(INTENTS)
    per_run = n_cfg * n_int * cases
    cfg_idx = np.repeat(np.arange(n_cfg), n_int * cases)
    int_idx = np.tile(np.repeat(np.arange(n_int), cases), n_cfg)
    case_idx = np.tile(np.arange(cases), n_cfg * n_int)
    test_ids = np.array([f"{INTENTS[i]}-{c:04d}" for i, c in zip(int_idx, case_idx)], dtype=object)
    languages = np.where(case_idx % 20 < 7, "ja", "en").astype(object)
    base_q = np.array([c[2] for c in CONFIGS])[cfg_idx]
    base_cost = np.array([c[3] for c in CONFIGS])[cfg_idx]
    base_lat = np.array([c[4] for c in CONFIGS])[cfg_idx]
    answer = "ご注文の商品は明日発送されます。Your order of Chainsaw Man vol. 12 ships tomorrow; tracking follows by email. " * 3
    for r, run_id in enumerate(run_ids):
        drift = 0.01 * np.sin(r / 9.0)
        quality = np.clip(base_q + drift + rng.normal(0, 0.12, per_run), 0, 1)
        error = rng.random(per_run) < 0.01
        ok = ~error
        in_tok = rng.integers(800, 2400, per_run)
        out_tok = rng.integers(60, 400, per_run)
        table = pa.table({
            "run_id": [run_id] * per_run, "config_id": [CONFIGS[i][0] for i in cfg_idx], "model_id": [CONFIGS[i][1] for i in cfg_idx],
            "intent": [INTENTS[i] for i in int_idx], "test_id": test_ids, "language": languages, "dataset_version": ["v1"] * per_run,
            "prompt_version": ["v1"] * per_run, "response_text": np.where(ok, answer, None),
            "input_tokens": np.where(ok, in_tok, None), "output_tokens": np.where(ok, out_tok, None),
            "cost_usd": np.where(ok, base_cost * rng.uniform(0.8, 1.2, per_run), None),
            "latency_ms": np.where(ok, (base_lat * rng.lognormal(0, 0.35, per_run)).astype(np.int64), None),
            "wall_ms": base_lat * 1.1, "status": np.where(ok, "ok", "error"), "error_code": np.where(ok, None, "ThrottlingException"),
            "attempts": np.ones(per_run, dtype=np.int32), "stop_reason": np.where(ok, "end_turn", None), "error_message": [None] * per_run,
            "cache_hit": np.zeros(per_run, dtype=bool), "reused_from": [None] * per_run,
            "quality_score": np.where(ok, quality, None), "passed": np.where(ok, quality >= 0.75, None),
            **{f"score_{d}": np.where(ok, np.clip(quality + rng.normal(0, 0.05, per_run), 0, 1), None)
               for d in ("relevance", "factual_accuracy", "completeness", "language_match", "format_length", "safety_policy")},
            "score_judge": [None] * per_run, "judge_error": [None] * per_run,
            "critical_failure": np.where(ok & (quality < 0.3), "contradicted_price", None),
        })
        con.register("incoming", table)
        con.execute("INSERT INTO eval_results SELECT * FROM incoming")
        con.unregister("incoming")
        n_cases = n_int * cases
        cases_tbl = pa.table({
            "run_id": [run_id] * n_cases, "test_id": test_ids[:n_cases], "intent": [INTENTS[i] for i in int_idx[:n_cases]],
            "language": languages[:n_cases], "dataset_version": ["v1"] * n_cases,
            "tags": [f",{TAGS[c % len(TAGS)]}," if TAGS[c % len(TAGS)] else "," for c in case_idx[:n_cases]],
            "query": ["Chainsaw Man 12巻はいつ届きますか？"] * n_cases, "reference_answer": [answer[:120]] * n_cases,
            "source": [f"v1/{INTENTS[i]}.jsonl:{c + 1}" for i, c in zip(int_idx[:n_cases], case_idx[:n_cases])], "case_json": [None] * n_cases})
        con.register("incoming", cases_tbl)
        con.execute("INSERT INTO eval_cases SELECT * FROM incoming")
        con.unregister("incoming")
        # paired statistics every configuration vs every other (what the loader computes with scipy)
        means = {(c, i): float(np.mean(quality[(cfg_idx == c) & (int_idx == i)])) for c in range(n_cfg) for i in range(n_int)}
        pairs = [(run_id, INTENTS[i], CONFIGS[c][0], CONFIGS[ref][0], cases, means[c, i] - means[ref, i], means[c, i] - means[ref, i] - 0.025)
                 for i in range(n_int) for c in range(n_cfg) for ref in range(n_cfg) if c != ref]
        pairs_tbl = pa.table(list(zip(*pairs)), names=["run_id", "intent", "config_id", "reference_config_id", "n_pairs", "mean_diff", "lower_95"])
        con.register("incoming", pairs_tbl)
        con.execute("INSERT INTO quality_pairs SELECT * FROM incoming")
        con.unregister("incoming")
        con.execute("INSERT INTO routing_policy VALUES (?, 0.8, 3000, 0.05, 0.02, 1000000, 30, 'sonnet-4-5', 'sonnet-3-5-v2')", [run_id])
        con.executemany("INSERT INTO intent_mix VALUES (?, ?, ?, 0.2)", [(run_id, i, 1 / n_int) for i in INTENTS])
        con.executemany("INSERT INTO current_routing VALUES (?, ?, 'sonnet-3-5-v2')", [(run_id, i) for i in INTENTS])
    con.close()
    return run_ids


def timed(client, url: str, repeat: int = 5) -> tuple[float, int, int]:
    client.get(url)  # warm-up: the first query plans and pages the file in
    times, status, size = [], 0, 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        status, size = response.status_code, len(response.content)
    return statistics.median(times), status, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=90)
    parser.add_argument("--keep", type=Path, help="build the warehouse in this folder and keep it")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "warehouse.duckdb"
    os.environ["MANGAEVAL_WAREHOUSE_URI"] = f"duckdb:///{db}"
    os.environ["MANGAEVAL_ROUTING_URI"] = str(folder / "store")
    started = time.perf_counter()
    if db.exists():
        db.unlink()
    run_ids = fill(db, args.runs)
    print(f"warehouse: {args.runs} runs x {len(CONFIGS)} configurations x {len(INTENTS)} intents x 200 cases = "
          f"{args.runs * len(CONFIGS) * len(INTENTS) * 200:,} result rows ({db.stat().st_size / 1e6:.0f} MB, filled in {time.perf_counter() - started:.0f}s)")

    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from mangaeval.dashboards.app import create_app
    from mangaeval.dashboards.report import render_report

    client = TestClient(create_app(access=lambda dag_id: (lambda: None)))  # the pages without the API server's auth
    latest, oldest = quote(run_ids[-1]), quote(run_ids[0])
    cases = [("Evaluation, latest run", f"/evaluation?intent=recommendation"),
             ("Evaluation, oldest run", f"/evaluation?run_id={oldest}&intent=faq"),
             ("Answers, latest run", f"/answers?run_id={latest}&intent=recommendation"),
             ("Answers, disagree + failed", f"/answers?run_id={latest}&intent=faq&disagree=1&failed=1"),
             ("Answers, language + tag, page 2", f"/answers?run_id={oldest}&intent=faq&language=en&tag=edge%3Atypo&page=1")]
    worst = 0.0
    print(f"{'page':34} {'server time':>12} {'status':>7} {'HTML':>9}")
    for name, url in cases:
        seconds, status, size = timed(client, url)
        worst = max(worst, seconds)
        print(f"{name:34} {seconds * 1000:10.0f} ms {status:7d} {size / 1e3:7.0f} kB")
    print(f"slowest Evaluation/Answers page: {worst * 1000:.0f} ms (target < 1000 ms): {'met' if worst < 1 else 'NOT MET'}; "
          f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (timings grow with other work on it)")
    started = time.perf_counter()
    run_id, text = render_report(run_ids[-1])
    size = len(text.encode("utf-8"))
    print(f"static report of {run_id}: {size / 1e6:.2f} MB (target < 3 MB: {'met' if size < 3e6 else 'NOT MET'}), "
          f"rendered in {time.perf_counter() - started:.2f}s")
    if args.keep:
        (folder / "report.html").write_text(text, encoding="utf-8")
    return 0 if worst < 1 and size < 3e6 else 1


if __name__ == "__main__":
    sys.exit(main())
