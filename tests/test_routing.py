"""The routing document: canonical bytes, validation, the genesis state and the projection of a table; the
object store's conditional write (the ledger's publication is tested in test_ledger.py)."""

from __future__ import annotations


import pytest

from mangaeval.models import load_configurations, load_model_catalog
from mangaeval.routing.document import InvalidRouting, build_document, from_bytes, genesis_document, make_route, to_bytes
from mangaeval.objectstore import PreconditionFailed
from tests.conftest import object_store

CONFIGS = load_configurations(None, load_model_catalog())


def document(run_id: str, faq_config: str = "haiku-3-5", quality: float = 0.9) -> dict:
    rec = {"faq": {"config_id": faq_config, "mean_quality": quality, "pass_rate": 0.91, "latency_p95_ms": 812.25,
                   "mean_cost_usd": 0.000612345678, "reason": "cheapest non-inferior", "flagged": False},
           "recommendation": {"config_id": "sonnet-3-5-v2", "mean_quality": 0.87, "pass_rate": 0.87, "latency_p95_ms": 2425.0,
                              "mean_cost_usd": 0.00347, "reason": "best quality", "flagged": False}}
    return build_document(run_id, "v1", "2026-11-22T02:00:00+00:00", rec, CONFIGS, "sonnet-3-5-v2")


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, monkeypatch):
    return object_store(request.param, request, tmp_path, monkeypatch, "routing")


def test_document_is_canonical_and_validated():
    a, b = document("r1"), document("r1")
    assert to_bytes(a) == to_bytes(b) and to_bytes(a).endswith(b"\n")
    assert a["routes"]["faq"]["mean_cost_usd"] == 0.000612346 and a["default"]["config_id"] == "sonnet-3-5-v2"
    assert from_bytes(to_bytes(a), "x") == a
    with pytest.raises(InvalidRouting, match="configuration 'gpt-5'"):
        build_document("r", "v1", "t", {"faq": {"config_id": "gpt-5"}}, CONFIGS, "sonnet-3-5-v2")
    broken = {**a, "schema_version": 9}
    with pytest.raises(InvalidRouting, match="schema_version"):
        from_bytes(to_bytes(broken), "x")


def test_genesis_routes_every_intent_to_the_default_and_measures_nothing():
    from mangaeval.intents import intent_names

    doc = genesis_document(list(intent_names()), CONFIGS, "sonnet-3-5-v2", "2026-11-22T02:00:00Z")
    assert set(doc["routes"]) == set(intent_names()) and doc["ledger_version"] == 0
    assert all(r["config_id"] == "sonnet-3-5-v2" and r["mean_cost_usd"] is None and r["flagged"] for r in doc["routes"].values())
    with pytest.raises(InvalidRouting, match="default configuration 'gpt-5'"):
        genesis_document(["faq"], CONFIGS, "gpt-5", "t")


def test_the_projection_covers_every_intent_and_names_unmeasured_ones():
    from mangaeval.intents import intent_names, load_intents
    from mangaeval.routing.projection import project
    from mangaeval.warehouse.policy import load_policy

    policy = load_policy()
    doc = genesis_document(list(intent_names()), CONFIGS, "sonnet-3-5-v2", "t")
    for name in doc["routes"]:
        doc["routes"][name] = make_route(CONFIGS["haiku-3-5"], {"mean_cost_usd": 0.002}, "x", set_by={"kind": "nightly", "id": "r", "at": "t"},
                                         baseline_cost_usd=0.008)
    projection = project(doc, policy)
    intents = load_intents()
    expected = sum(1e6 * i.traffic_share * 30 * (1 - i.cache_hit_rate) * 0.002 for i in intents.values())
    assert projection["intents"] == 8 and projection["recommended_monthly_usd"] == pytest.approx(expected)
    assert projection["savings_monthly_usd"] == pytest.approx(3 * expected)
    doc["routes"]["faq"]["mean_cost_usd"] = None
    partial = project(doc, policy)
    assert partial["recommended_monthly_usd"] is None and partial["unmeasured_intents"] == ["faq"]  # never counted as $0


def test_route_fields_are_validated():
    doc = document("r1")
    doc["routes"]["faq"]["held"] = 3
    doc["routes"]["faq"]["set_by"] = {"id": "x"}
    with pytest.raises(InvalidRouting, match="'held' must be null.*'set_by' must name who set the route"):
        from_bytes(to_bytes(doc), "x")


def test_put_if_unchanged_writes_only_over_what_was_read(store):
    first = store.put_if_unchanged("cas/doc.json", b"1", None)  # absent when read: created
    with pytest.raises(PreconditionFailed):
        store.put_if_unchanged("cas/doc.json", b"x", None)  # read as absent, but it exists now
    second = store.put_if_unchanged("cas/doc.json", b"2", first)
    with pytest.raises(PreconditionFailed):
        store.put_if_unchanged("cas/doc.json", b"y", first)  # someone wrote after our read
    assert store.get("cas/doc.json") == (b"2", second)
