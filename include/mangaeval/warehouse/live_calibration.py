"""The monthly projection calibrated to live traffic, beside the golden-set one.

Golden prompts and answers are shorter than production's, so a projection at the golden cases' cost per request
undercounts the bill. Per intent, the mean input and output tokens of the answered live request events of a recent
window (request_events, loaded by ab_analysis; default the last 7 days) scale each configuration's measured cost per
request, input and output apart, with the catalog's prices recorded with the run (model_prices). The arithmetic is
sql/queries/projection_calibrated.sql; this module picks the window, runs it, and sums the per-intent rows into the
all-premium baseline's and the recommended routing's monthly cost, golden-set and calibrated, and their ratio.

An intent with fewer than `min_events` live events keeps its golden-set figure and says why. With no intent
calibrated at all (no events in the window, too few everywhere, a run loaded without prices) the calibrated
projection is reported unavailable with the reason: never invented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from mangaeval.errors import ConfigError
from mangaeval.paths import CONFIG_DIR
from mangaeval.yamlfile import read_yaml_mapping

SETTINGS_FILE = CONFIG_DIR / "live_calibration.yaml"
FALLBACK_REASONS = {"no_events": "no live events", "too_few_events": "too few live events", "no_price": "no price recorded for the model",
                    "no_golden_tokens": "no golden-set tokens"}
REFERENCES = {"serving_configurations": "the golden-set tokens of the configurations serving the live traffic",
              "run_configurations": "the golden-set tokens of the run's configurations (none of the serving ones was measured)"}


@dataclass(frozen=True)
class CalibrationSettings:
    window_days: float = 7.0
    min_events: int = 100
    as_of: datetime | None = None  # the window's end (None: the run's time, see window_end)


def _read(path: Path) -> dict[str, Any]:
    return read_yaml_mapping(path, "a mapping with window_days and min_events")


def load_settings(path: Path | None = None) -> CalibrationSettings:
    path = Path(path or SETTINGS_FILE)
    doc = _read(path)
    problems = []
    days, events = doc.get("window_days"), doc.get("min_events")
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not 0 < days <= 366:
        problems.append(f"{path}: 'window_days' must be a number of days in (0, 366], got {days!r}")
    if isinstance(events, bool) or not isinstance(events, int) or events < 1:
        problems.append(f"{path}: 'min_events' must be a whole number >= 1, got {events!r}")
    if problems:
        raise ConfigError(problems)
    return CalibrationSettings(float(days), int(events))


def field_traffic(path: Path | None = None) -> dict[str, dict[str, float]]:
    """The field's token sizes (and quality) per intent, from the settings file's `field_traffic`, checked."""
    from mangaeval.intents import load_intents

    path = Path(path or SETTINGS_FILE)
    entries = _read(path).get("field_traffic")
    if not isinstance(entries, dict) or not entries:
        raise ConfigError([f"{path}: 'field_traffic' must map intents to {{input_tokens, output_tokens, quality}}"])
    known, problems, sizes = load_intents(), [], {}
    for intent, spec in entries.items():
        where = f"{path}: field_traffic.{intent}"
        if intent not in known:
            problems.append(f"{where}: unknown intent (known: {', '.join(known)})")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{where}: expected {{input_tokens, output_tokens, quality}}")
            continue
        for name, low, high in (("input_tokens", 1, 1e6), ("output_tokens", 1, 1e6), ("quality", 0, 1)):
            value = spec.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                problems.append(f"{where}: '{name}' must be a number in [{low:g}, {high:g}], got {value!r}")
        sizes[intent] = {k: float(spec[k]) for k in ("input_tokens", "output_tokens", "quality") if k in spec}
    if problems:
        raise ConfigError(problems)
    return sizes


def model_price_rows(run_id: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The catalog's prices (include/config/models.yaml via mangaeval.models, as the engine costs each call) of every
    model the run called: loaded with the run, so its calibrated projection splits costs with the prices it paid. A model
    the catalog does not hold (results imported from elsewhere) gets no row: its intents keep the golden-set figure."""
    from mangaeval.models import load_model_catalog

    catalog = load_model_catalog()
    models = sorted({str(m) for m in frame["model_id"].dropna()}) if "model_id" in frame else []
    return [{"run_id": run_id, "model_id": m, "input_usd_per_mtok": catalog[m].input_usd_per_mtok,
             "output_usd_per_mtok": catalog[m].output_usd_per_mtok} for m in models if m in catalog]


def run_time(run_id: str) -> datetime | None:
    """The time an Airflow run id carries (scheduled__2026-11-22T02:00:00+00:00, manual__20261202T141944Z), else None."""
    try:
        moment = datetime.fromisoformat(run_id.split("__", 1)[1]) if "__" in run_id else None
    except ValueError:
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment and moment.tzinfo else moment


def window_end(run_id: str, as_of: datetime | None = None) -> tuple[datetime, str]:
    """Where the live window ends, and why there: a given time; else the run's own time (a run's projection reads the
    traffic before it, so a rerun gives the same figures); else the start of the current hour (the hourly event loader
    completes an hour a few minutes after it ends). Naive UTC, as request_events stores times."""
    if as_of is not None:
        return (as_of.astimezone(timezone.utc).replace(tzinfo=None) if as_of.tzinfo else as_of), "the given time"
    moment = run_time(run_id)
    if moment is not None:
        return moment, "the run's time"
    return datetime.now(timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0), "the current hour"


def _plain(value: Any) -> Any:
    """A JSON-ready value: None for NULL/NaN, float/int/str for numpy and pandas scalars, ISO text for times."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    if value.__class__.__name__ == "Decimal":
        return float(value)
    if isinstance(value, float):  # a parallel engine's AVG/SUM varies in the last bits with its summation order
        return round(value, 9)
    return value


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def _missing_relation(exc: Exception) -> bool:
    text = str(exc).lower()
    return "does not exist" in text or ("not found" in text and ("table" in text or "view" in text))


def _sum(values: list[Any]) -> float | None:
    return None if not values or any(v is None for v in values) else float(sum(values))


def calibrated_projection(warehouse: Any, run_id: str, settings: CalibrationSettings | None = None,
                          as_of: datetime | None = None) -> dict[str, Any]:
    """The run's golden-set and live-calibrated monthly projection (JSON-ready): totals for the all-premium baseline and
    the recommended routing, their ratios, per intent the live figures behind them, and `available`/`reason`."""
    settings = settings or load_settings()
    end, anchored = window_end(run_id, as_of or settings.as_of)
    start = end - timedelta(days=settings.window_days)
    params = {"run_id": run_id, "window_start": start, "window_end": end, "min_events": settings.min_events}
    doc: dict[str, Any] = {"run_id": run_id, "available": False, "reason": None,
                           "window": {"start": start.isoformat() + "Z", "end": end.isoformat() + "Z", "days": settings.window_days,
                                      "end_at": anchored},
                           "min_events": settings.min_events, "events_in_window": 0, "live_intents": {},
                           "golden": {"baseline_monthly_usd": None, "recommended_monthly_usd": None},
                           "calibrated": {"baseline_monthly_usd": None, "recommended_monthly_usd": None},
                           "ratio": {"baseline": None, "recommended": None}, "per_intent": [], "per_configuration": {}}
    try:
        profile = _rows(warehouse.query("queries/live_token_profile.sql", params))
        rows = _rows(warehouse.query("queries/projection_calibrated.sql", params))
        routed = _rows(warehouse.query("queries/projection_by_intent.sql", {"run_id": run_id}))
    except Exception as exc:  # a warehouse written before this projection existed (opened read-only by the pages)
        if not _missing_relation(exc):
            raise
        doc["reason"] = (f"the warehouse predates the calibrated projection ({str(exc).splitlines()[0][:160]}): the next "
                         "model_evaluation run creates what it needs")
        return doc
    doc["events_in_window"] = int(sum(p["events"] for p in profile))
    doc["live_intents"] = {p["intent"]: {"events": int(p["events"]), "mean_input_tokens": p["mean_input_tokens"],
                                          "mean_output_tokens": p["mean_output_tokens"], "configurations": int(p["configurations"]),
                                          "first_event": p["first_event"], "last_event": p["last_event"]} for p in profile}
    by_key = {(r["intent"], r["config_id"]): r for r in rows}
    baseline_id = next((r["config_id"] for r in rows if r["is_baseline"]), None)
    per_intent = [_intent_entry(route, by_key, rows, baseline_id, doc["live_intents"].get(route["intent"], {}), settings)
                  for route in routed]
    doc["per_intent"], doc["baseline_config_id"] = per_intent, baseline_id
    for kind in ("golden", "calibrated"):
        for which in ("baseline", "recommended"):
            doc[kind][f"{which}_monthly_usd"] = _sum([r[f"{kind}_{which}_monthly_usd"] for r in per_intent])
    doc["per_configuration"] = _per_configuration(rows, {r["intent"] for r in routed})
    calibrated = sorted({r["intent"] for r in rows if r["calibration"] == "live"})
    doc["calibrated_intents"] = calibrated
    doc["golden_fallback"] = _fallbacks(per_intent, rows, calibrated)
    if not calibrated:
        doc["calibrated"] = {"baseline_monthly_usd": None, "recommended_monthly_usd": None}
        doc["reason"] = _unavailable_reason(doc, rows, settings)
        return doc
    doc["available"] = True
    for which in ("baseline", "recommended"):
        golden, live = doc["golden"][f"{which}_monthly_usd"], doc["calibrated"][f"{which}_monthly_usd"]
        doc["ratio"][which] = None if golden in (None, 0) or live is None else live / golden
    return doc


def _intent_entry(route: dict[str, Any], by_key: dict[tuple[str, str], dict[str, Any]], rows: list[dict[str, Any]],
                  baseline_id: str | None, live: dict[str, Any], settings: CalibrationSettings) -> dict[str, Any]:
    """One intent: where its live figures came from, and the recommended and baseline configurations' monthly cost."""
    intent = route["intent"]
    rec, base = by_key.get((intent, route["config_id"])) or {}, by_key.get((intent, baseline_id)) or {}
    any_row = rec or base or next((r for r in rows if r["intent"] == intent), {})  # the intent's figures are on every row
    return {"intent": intent, "live_events": int(live.get("events", 0)),
            "live_input_tokens": any_row.get("live_input_tokens"), "live_output_tokens": any_row.get("live_output_tokens"),
            "golden_input_tokens": any_row.get("reference_input_tokens"), "golden_output_tokens": any_row.get("reference_output_tokens"),
            "input_ratio": any_row.get("input_ratio"), "output_ratio": any_row.get("output_ratio"), "reference": any_row.get("reference"),
            "calibration": _intent_calibration(live.get("events", 0), settings.min_events),
            "recommended_config_id": route["config_id"], "recommended_calibration": rec.get("calibration"),
            "golden_recommended_monthly_usd": rec.get("golden_monthly_usd"),
            "calibrated_recommended_monthly_usd": rec.get("calibrated_monthly_usd"),
            "baseline_config_id": baseline_id, "baseline_calibration": base.get("calibration"),
            "golden_baseline_monthly_usd": base.get("golden_monthly_usd"), "calibrated_baseline_monthly_usd": base.get("calibrated_monthly_usd")}


def _per_configuration(rows: list[dict[str, Any]], intents: set[str]) -> dict[str, dict[str, Any]]:
    """Each configuration on every intent of the run, golden-set and calibrated (None where it missed an intent)."""
    out = {}
    for config_id in sorted({r["config_id"] for r in rows}):
        mine = [r for r in rows if r["config_id"] == config_id]
        whole = {r["intent"] for r in mine} == intents
        out[config_id] = {"golden_monthly_usd": _sum([r["golden_monthly_usd"] for r in mine]) if whole else None,
                          "calibrated_monthly_usd": _sum([r["calibrated_monthly_usd"] for r in mine]) if whole else None,
                          "calibrated_intents": sorted(r["intent"] for r in mine if r["calibration"] == "live")}
    return out


def _fallbacks(per_intent: list[dict[str, Any]], rows: list[dict[str, Any]], calibrated: list[str]) -> dict[str, str]:
    """Why each intent not calibrated keeps its golden-set figure."""
    out = {}
    for entry in per_intent:
        if entry["intent"] in calibrated:
            continue
        if entry["calibration"] in FALLBACK_REASONS:
            out[entry["intent"]] = FALLBACK_REASONS[entry["calibration"]]
        else:  # enough events, yet no configuration of the intent could use them
            reasons = sorted({r["calibration"] for r in rows if r["intent"] == entry["intent"]} - {"live"})
            out[entry["intent"]] = ", ".join(FALLBACK_REASONS.get(x, x) for x in reasons) or "not measured"
    return out


def _intent_calibration(events: int, min_events: int) -> str:
    return "no_events" if not events else "too_few_events" if events < min_events else "live"


def _unavailable_reason(doc: dict[str, Any], rows: list[dict[str, Any]], settings: CalibrationSettings) -> str:
    span = f"between {doc['window']['start']} and {doc['window']['end']}"
    if doc["events_in_window"] == 0:
        return (f"no answered live request events {span} in the warehouse (table request_events: the ab_analysis DAG loads "
                "them from events/requests/ in the object store; `mangaeval events field-traffic --load` writes some at the "
                "field's token sizes)")
    if any(r["calibration"] == "no_price" for r in rows) and not any(r["calibration"] == "too_few_events" for r in rows):
        return (f"run {doc['run_id']} has no prices recorded (table model_prices) for its models: it was loaded before the "
                "calibrated projection existed, or called models outside the catalog; reload the run")
    counts = ", ".join(f"{i} {v['events']}" for i, v in sorted(doc["live_intents"].items())) or "none"
    return (f"no intent of run {doc['run_id']} has {settings.min_events} or more answered live requests {span} "
            f"(events per intent: {counts})")


def _usd(value: Any) -> str:
    return "-" if value is None else f"${value:,.0f}"


def format_calibrated(doc: dict[str, Any]) -> str:
    """The calibrated projection as `mangaeval report` prints it: both totals and their ratio, then per intent where the
    live figures came from."""
    if "window" not in doc:
        return f"monthly projection at live traffic's sizes: unavailable: {doc['reason']}"
    w = doc["window"]
    lines = [f"monthly projection at live traffic's token sizes (run {doc['run_id']}; {doc['events_in_window']:,} answered request "
             f"events {w['start'][:16]}Z .. {w['end'][:16]}Z, the {w['days']:g} days to {w.get('end_at', 'the end')}; an intent with fewer than "
             f"{doc['min_events']:,} keeps its golden-set figure):"]
    if not doc["available"]:
        lines.append(f"  calibrated projection unavailable: {doc['reason']}")
    ratio = lambda v: "-" if v is None else f"x{v:.2f}"
    lines.append(f"  {'':<28} {'golden set':>12} {'live traffic':>13} {'ratio':>7}")
    for label, which in ((f"all-premium ({doc.get('baseline_config_id') or '-'})", "baseline"), ("recommended routing", "recommended")):
        lines.append(f"  {label:<28} {_usd(doc['golden'][f'{which}_monthly_usd']):>12} {_usd(doc['calibrated'][f'{which}_monthly_usd']):>13} "
                     f"{ratio(doc['ratio'][which]):>7}")
    pair = lambda a, b, f: "-" if a is None or b is None else f"{f.format(a)}/{f.format(b)}"
    lines.append(f"  {'intent':<17} {'live events':>11} {'live in/out':>12} {'golden in/out':>14} {'ratio in/out':>13}  figures")
    for r in doc["per_intent"]:
        figures = "live traffic" if r["intent"] in doc.get("calibrated_intents", []) else \
            f"golden set ({doc.get('golden_fallback', {}).get(r['intent'], FALLBACK_REASONS.get(r['calibration'], r['calibration']))})"
        lines.append(f"  {r['intent']:<17} {r['live_events']:>11,} {pair(r['live_input_tokens'], r['live_output_tokens'], '{:,.0f}'):>12} "
                     f"{pair(r['golden_input_tokens'], r['golden_output_tokens'], '{:,.0f}'):>14} "
                     f"{pair(r['input_ratio'], r['output_ratio'], '{:.2f}'):>13}  {figures}")
    return "\n".join(lines)


def summary_line(doc: dict[str, Any]) -> str:
    """One line for a task log: both all-premium figures and the ratio, or why there is no calibrated one."""
    golden = _usd(doc.get("golden", {}).get("baseline_monthly_usd"))
    if not doc.get("available"):
        return f"monthly projection: all-premium {golden} at the golden set's token sizes; at live traffic's: unavailable ({doc.get('reason')})"
    return (f"monthly projection: all-premium {golden} at the golden set's token sizes, "
            f"{_usd(doc['calibrated']['baseline_monthly_usd'])} at live traffic's (x{doc['ratio']['baseline']:.2f}; "
            f"{doc['events_in_window']:,} live events, calibrated: {', '.join(doc['calibrated_intents'])})")
