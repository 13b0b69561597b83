"""`mangaeval events field-traffic`: request events at the field's token sizes written to the events store as the bot
writes them (and, with --load, loaded into the warehouse by the ab_analysis DAG's loader), so the projection calibrated to
live traffic can be seen where no live traffic exists. The events are simulated and say so (experiment `field-traffic`)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from typing import Any


def cmd_field_traffic(args: argparse.Namespace) -> int:
    from mangaeval.ab.steps import events_store, load_events
    from mangaeval.events import field_traffic
    from mangaeval.warehouse.policy import load_policy

    end = args.end or datetime.now(timezone.utc)
    end = end.astimezone(timezone.utc).replace(tzinfo=None) if end.tzinfo else end
    config_id = args.config or load_policy().baseline_config_id  # the field's figures were measured on Sonnet 3.5
    events = field_traffic.generate(end, args.days, args.per_day, config_id, args.seed)  # bad config: a message, nothing written
    store = events_store()
    keys = field_traffic.write(store, events, args.seed)
    doc: dict[str, Any] = {"store": store.uri, "files": len(keys), "first_key": keys[0] if keys else None,
                           "last_key": keys[-1] if keys else None, "config_id": config_id, "end": end.isoformat() + "Z",
                           "days": args.days, "per_intent": field_traffic.summary(events)}
    if args.load:
        start, stop = field_traffic.span(end, args.days)
        doc["loaded"] = load_events(start, stop, args.warehouse_uri)
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
        return 0
    print(f"{sum(v['events'] for v in doc['per_intent'].values()):,} simulated request events (experiment "
          f"{field_traffic.FIELD_EXPERIMENT}, served by {config_id}) over the {args.days:g} days to {doc['end']}: "
          f"{len(keys)} hourly files in {store.uri}/events/requests/")
    for intent, figures in sorted(doc["per_intent"].items()):
        print(f"  {intent:<17} {figures['events']:>8,} events, {figures['answered']:>8,} answered, mean "
              f"{figures['mean_input_tokens']:,.0f} in / {figures['mean_output_tokens']:,.0f} out tokens")
    if args.load:
        loaded = doc["loaded"]
        print(f"loaded into the warehouse: {loaded['loaded']:,} rows from {loaded['files']} files, {loaded['quarantined']} quarantined")
    else:
        print("load them with --load (or let the ab_analysis DAG's hourly loader bring them in)")
    return 0


def register(sub: Any) -> None:
    from mangaeval.argtypes import float_in, iso_time

    events = sub.add_parser("events", help="the live bot's request events").add_subparsers(dest="events_command", required=True)
    field = events.add_parser("field-traffic", help="simulated request events at the field's token sizes (include/config/"
                              "live_calibration.yaml), written to the events store")
    field.add_argument("--days", type=float_in(0, 366, low_open=True), default=7.0, help="the days before --end to cover (default 7)")
    field.add_argument("--per-day", type=float_in(0, 10_000_000, low_open=True), default=10_000.0,
                       help="events a day over the field's intents, split by their traffic shares (default 10,000)")
    field.add_argument("--end", type=iso_time, help="end of the traffic (ISO-8601, UTC when no zone; default now)")
    field.add_argument("--config", help="the configuration serving the traffic (default: the all-premium baseline)")
    field.add_argument("--seed", type=int, default=0, help="the same seed writes the same events (and the same object keys)")
    field.add_argument("--load", action="store_true", help="then load them into the warehouse (the ab_analysis loader)")
    field.add_argument("--warehouse-uri", help="with --load (default: MANGAEVAL_WAREHOUSE_URI, else data/warehouse.duckdb)")
    field.add_argument("--json", action="store_true")
    field.set_defaults(func=cmd_field_traffic)
