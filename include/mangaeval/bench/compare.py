"""`bench compare`: each figure of a result against its stored baseline (mangaeval.bench.rule), for CI: the verdict
table, GitHub Actions annotation lines and a Markdown summary. The exit code is the gate."""

from __future__ import annotations

from typing import Any

from mangaeval.bench.baselines import current_baseline
from mangaeval.bench.rule import BASELINE, DEFAULT_MARGIN, DEFAULT_THRESHOLD, FIGURES, IMPROVEMENT, PASS, REGRESSION, judge

# figure -> (benchmark, how to read the samples, keys and workers from a benchmark section)
FIGURE_SOURCES = {
    "latency_p95_ms": ("latency", "samples_ms", "keys"),
    "ttft_p95_ms": ("latency", "ttft_samples_ms", "ttft_keys"),
    "throughput_rps": ("throughput", "samples_ms", "keys"),
    "cost_per_query_usd": ("cost", "samples_usd", "keys"),
}
LABELS = {"latency_p95_ms": "P95 latency", "ttft_p95_ms": "P95 time to first token", "throughput_rps": "throughput",
          "cost_per_query_usd": "cost per query"}


def compare(store: Any, result: dict[str, Any], *, threshold: float = DEFAULT_THRESHOLD, margin: float = DEFAULT_MARGIN) -> list[dict[str, Any]]:
    rows = []
    for config_id, sections in result["configs"].items():
        for figure, (benchmark, samples_key, keys_key) in FIGURE_SOURCES.items():
            section = sections.get(benchmark) or {}
            current = section.get(samples_key)
            if not current:
                continue
            base_doc = current_baseline(store, result["environment"], config_id, benchmark)
            base = (base_doc or {}).get("section", {})
            verdict = judge(figure, base.get(samples_key) or None, current, workers=section.get("workers"),
                            baseline_workers=base.get("workers"), baseline_keys=base.get(keys_key), current_keys=section.get(keys_key),
                            threshold=threshold, margin=margin)
            if base_doc is not None and not base.get(samples_key):
                verdict = judge(figure, None, current, workers=section.get("workers"))  # that baseline lacks this figure
            rows.append({"config_id": config_id, "benchmark": benchmark, **verdict.to_dict(), "unit": FIGURES[figure][2],
                         "baseline_version": (base_doc or {}).get("version"), "baseline_result_id": (base_doc or {}).get("result_id"),
                         "threshold": threshold, "margin": margin})
    return rows


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return {"ms": f"{value:,.0f} ms", "req/s": f"{value:,.2f} req/s", "USD": f"${value:.6f}"}[unit]


def change_text(row: dict[str, Any]) -> str:
    """The change in the figure's own direction (+ = the figure went up), and the worse-ratio's interval."""
    if row["baseline"] in (None, 0):
        return "no baseline"
    change = row["current"] / row["baseline"] - 1
    return f"{change:+.1%} (worse-ratio {row['ratio']:.3f}, 95% CI {row['ci_low']:.3f}–{row['ci_high']:.3f})"


def annotations(rows: list[dict[str, Any]], result_id: str) -> list[str]:
    """GitHub Actions workflow commands: ::error for a REGRESSION, ::warning for a figure worse by more than the
    threshold whose evidence does not hold (PASS, watch it), ::notice for a figure without a baseline."""
    out = []
    for r in rows:
        label = f"{LABELS[r['figure']]} of {r['config_id']}"
        if r["status"] == REGRESSION:
            level, title = "error", f"Benchmark regression: {label}"
        elif r["status"] == PASS and r["ratio"] is not None and r["ratio"] > 1 + r["threshold"]:
            level, title = "warning", f"Benchmark: {label} worse, not conclusive"
        elif r["status"] == BASELINE:
            level, title = "notice", f"Benchmark: no baseline for {label}"
        else:
            continue
        base = (f"baseline {fmt_value(r['baseline'], r['unit'])} (v{r['baseline_version']}, result {r['baseline_result_id']})"
                if r["baseline"] is not None else "no baseline stored: `mangaeval bench accept` makes one")
        message = f"{LABELS[r['figure']]} {fmt_value(r['current'], r['unit'])} vs {base}: {change_text(r)}; result {result_id}"
        out.append(f"::{level} title={_escape_property(title)}::{_escape_data(message)}")
    return out


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def markdown(rows: list[dict[str, Any]], result: dict[str, Any]) -> str:
    marks = {REGRESSION: "❌ REGRESSION", IMPROVEMENT: "✅ IMPROVEMENT", PASS: "PASS", BASELINE: "BASELINE"}
    counts = {s: sum(r["status"] == s for r in rows) for s in marks}
    lines = [f"## Benchmark comparison: result `{result['result_id']}` ({result['environment']})", "",
             " · ".join(f"{n} {s}" for s, n in counts.items() if n), "",
             "| configuration | figure | baseline | current | change | status |", "|---|---|---|---|---|---|"]
    for r in rows:
        version = f" (v{r['baseline_version']})" if r["baseline_version"] else ""
        lines.append(f"| {r['config_id']} | {LABELS[r['figure']]} | {fmt_value(r['baseline'], r['unit'])}{version} | "
                     f"{fmt_value(r['current'], r['unit'])} | {change_text(r)} | {marks[r['status']]} |")
    t, m = (rows[0]["threshold"], rows[0]["margin"]) if rows else (DEFAULT_THRESHOLD, DEFAULT_MARGIN)
    lines += ["", f"Rule: REGRESSION when a figure is worse by more than {t:.0%} and the 95% bootstrap interval of the worse-ratio "
              f"lies above {1 + m:.2f} (both samples resampled; paired by prompt when both runs asked the same prompts)."]
    return "\n".join(lines) + "\n"


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'configuration':<18} {'figure':<24} {'baseline':>16} {'current':>16}  {'status':<12} change"]
    for r in rows:
        lines.append(f"{r['config_id']:<18} {LABELS[r['figure']]:<24} {fmt_value(r['baseline'], r['unit']):>16} {fmt_value(r['current'], r['unit']):>16}  "
                     f"{r['status']:<12} {change_text(r)}")
    return "\n".join(lines)
