"""Races on the routing ledger: every round, a nightly publisher, an A/B promoter and a canary completer commit
at the same moment (threads released by one barrier), on a local folder and on a local S3 server (moto).

Printed per store: rounds, entries written, lost races (conflicts, each re-decided on the winner's state),
writers that gave up, lost updates (accepted changes missing from the ledger or from the state it replays
to), and whether the final table equals a serial replay of the accepted entries. Target: 0 lost updates and
an exact replay.

    python benchmarks/routing_race_bench.py [--rounds 100] [--stores local,s3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "include"))


def _stamp(round_no: int, minute: int) -> str:
    day, hour = divmod(round_no, 24)
    return f"2026-{11 + day // 28:02d}-{1 + day % 28:02d}T{hour:02d}:{minute:02d}:00Z"


def race(store, rounds: int) -> dict[str, Any]:
    from mangaeval.ab.publishing import apply_proposal
    from mangaeval.canary import production
    from mangaeval.intents import intent_names
    from mangaeval.models import load_configurations
    from mangaeval.pipeline.publishing import commit_nightly
    from mangaeval.routing import ledger
    from tests.ledger_helpers import ab_promotion, nightly_decision, results, seed_routes

    configs = load_configurations()
    intents = list(intent_names())
    seed_routes(store, {i: "sonnet-3-5-v2" for i in intents}, at="2026-10-31T00:00:00Z")
    # Three nightly decisions, precomputed (the SQL is not what races): each moves different routes.
    variants = [nightly_decision(results(f"v{k}", intents, seed=100 + k, quality={("faq", "nova-lite"): 0.95 - 0.3 * (k % 2),
                                                                                    ("promotion", "haiku-3"): 0.95 - 0.3 * (k // 2)}), None)
                for k in range(3)]
    outcomes: list[dict[str, Any]] = []
    lock = threading.Lock()

    def record(writer: str, actor_id: str, call) -> None:
        try:
            result = call()
            outcome = {"writer": writer, "actor": actor_id, "version": result.get("version") if result.get("changed") else None,
                       "changed": bool(result.get("changed")), "conflicts": len(result.get("conflicts", [])),
                       "changes": [(c["intent"], c["to"]) for c in result.get("changes", [])]}
        except ledger.PublishConflict as exc:
            outcome = {"writer": writer, "actor": actor_id, "version": None, "changed": False, "gave_up": str(exc), "conflicts": 10, "changes": []}
        with lock:
            outcomes.append(outcome)

    for r in range(rounds):
        base = ledger.read_head(store).to_dict()  # all three decided on the same version
        barrier = threading.Barrier(3)
        nightly_id, experiment_id, rollout_id = f"nightly-{r}", f"exp-{r}", f"roll-{r}"
        treatment = ("sonnet-4-5", "haiku-3-5")[r % 2]
        candidate = configs[("haiku-3-5", "sonnet-4-5")[r % 2]]
        judgement = {"metrics": {"quality": {"canary_value": 0.85}, "latency": {"canary_value": 1500.0}, "cost_per_request": {"canary_value": 0.003}}}

        def nightly():
            barrier.wait()
            decision = dict(variants[r % 3], run_id=nightly_id)
            return commit_nightly(decision, nightly_id, _stamp(r, 0), base)

        def promoter():
            barrier.wait()
            proposal = ab_promotion(experiment_id, ["recommendation", "product_question"], treatment, _stamp(r, 10))
            return apply_proposal(store, proposal, {})

        def completer():
            barrier.wait()
            done = production.complete(store, rollout_id, candidate, ["faq", "recommendation"], 4, judgement, _stamp(r, 20))
            return {**done["routing"], "changes": done["changes"]}

        threads = [threading.Thread(target=record, args=(w, a, c)) for w, a, c in
                   (("nightly", nightly_id, nightly), ("ab_promotion", experiment_id, promoter), ("canary_completion", rollout_id, completer))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return verify(store, outcomes)


def verify(store, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    from mangaeval.routing import ledger

    head = ledger.read_head(store)
    entries = [ledger.read_entry(store, v) for v in range(1, head.version + 1)]
    problems = []
    if any(e is None for e in entries):
        problems.append("a gap in the ledger's versions")
    entries = [e for e in entries if e]
    for e in entries:
        if e["based_on"] != e["version"] - 1:
            problems.append(f"v{e['version']} is based on v{e['based_on']}")
    by_version = {e["version"]: e for e in entries}
    lost = 0
    for o in outcomes:
        if not o["changed"]:
            continue
        entry = by_version.get(o["version"])
        if entry is None or entry["actor"]["id"] != o["actor"] or [(c["intent"], c["to"]) for c in entry["changes"]] != o["changes"]:
            lost += 1  # accepted, but not in the ledger as the writer was told
    # Serial replay of the accepted entries from the first one's base
    state = entries[0]["document"]
    for e in entries[1:]:
        state = ledger.apply_changes(state, [{**c, "route": c["to_route"]} for c in e["changes"]], e["version"], e["actor"], e["at"])
        if state["routes"] != e["document"]["routes"]:
            problems.append(f"v{e['version']}: its document is not its base plus its changes")
            lost += 1
    current = json.loads(store.get(ledger.CURRENT)[0])
    accepted = sum(o["changed"] for o in outcomes)
    return {"rounds": len(outcomes) // 3, "entries": len(entries), "accepted_commits": accepted,
            "no_change_commits": sum(not o["changed"] and "gave_up" not in o for o in outcomes),
            "lost_races": sum(o["conflicts"] for o in outcomes if "gave_up" not in o), "gave_up": sum("gave_up" in o for o in outcomes),
            "lost_updates": lost, "replay_equals_final": state["routes"] == current["routes"] and current["ledger_version"] == head.version,
            "accepted_in_ledger": accepted == len(entries) - 1, "problems": problems[:5]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--stores", default="local,s3")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)  # every lost race logs a warning; the figures below count them
    status = 0
    for kind in args.stores.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            store, stop = open_bench_store(kind, Path(tmp))
            try:
                started = time.perf_counter()
                figures = race(store, args.rounds)
                figures["seconds"] = round(time.perf_counter() - started, 1)
            finally:
                stop()
        ok = figures["lost_updates"] == 0 and figures["replay_equals_final"] and figures["accepted_in_ledger"] and not figures["problems"]
        status |= 0 if ok else 1
        print(f"routing races on {kind}: {json.dumps(figures)}  -> {'OK' if ok else 'TARGET MISSED'}", flush=True)
    return status


def open_bench_store(kind: str, tmp: Path):
    from mangaeval.objectstore import LocalStore, S3Store

    if kind == "local":
        os.environ["MANGAEVAL_ROUTING_URI"] = str(tmp / "store")
        return LocalStore(tmp / "store"), lambda: None
    import boto3
    from moto.server import ThreadedMotoServer

    from tests.conftest import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    os.environ["AWS_ENDPOINT_URL_S3"] = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
    client.create_bucket(Bucket="race")
    os.environ["MANGAEVAL_ROUTING_URI"] = "s3://race/serving"
    return S3Store("race", "serving", client=client), server.stop


if __name__ == "__main__":
    raise SystemExit(main())
