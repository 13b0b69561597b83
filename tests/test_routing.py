"""The routing document and its publication: canonical bytes, validation, conditional writes on a local
folder and on a local S3 server (moto), racing publishers, rollback and diff."""

from __future__ import annotations


import pytest

from mangaeval.errors import MangaEvalError
from mangaeval.models import load_configurations, load_model_catalog
from mangaeval.routing.document import InvalidRouting, build_document, from_bytes, to_bytes
from mangaeval.routing.publish import CURRENT, PublishConflict, current_document, diff, make_current, publish, rollback, write_run_document
from mangaeval.objectstore import LocalStore, PreconditionFailed
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


@pytest.mark.integration
def test_publish_first_then_next(store):
    first = publish(store, document("r1"))
    assert first["changed"] and current_document(store)["run_id"] == "r1"
    again = publish(store, document("r1"))  # the same run again: byte-identical, nothing to change
    assert again["changed"] is False
    publish(store, document("r2", faq_config="nova-lite"))
    assert current_document(store)["routes"]["faq"]["config_id"] == "nova-lite"
    with pytest.raises(MangaEvalError, match="already published with different content"):
        publish(store, document("r1", quality=0.5))
    assert current_document(store)["run_id"] == "r2"


@pytest.mark.integration
def test_racing_publishers_one_wins_the_other_fails_cleanly(store):
    publish(store, document("r0"))
    stale = store.get(CURRENT)  # both publishers read the same current document
    a, b = write_run_document(store, document("ra", faq_config="nova-lite")), write_run_document(store, document("rb", faq_config="haiku-3"))
    make_current(store, a, stale)
    with pytest.raises(PublishConflict, match="another publisher changed it"):
        make_current(store, b, stale)
    assert current_document(store)["run_id"] == "ra"


@pytest.mark.integration
def test_first_publish_cannot_overwrite_a_concurrent_first(store):
    data = write_run_document(store, document("r1"))
    make_current(store, data, None)
    other = write_run_document(store, document("r2", faq_config="nova-lite"))
    with pytest.raises(PublishConflict):
        make_current(store, other, None)  # believed there was no current yet (If-None-Match)


@pytest.mark.integration
def test_rollback_and_diff(store):
    publish(store, document("r1"))
    publish(store, document("r2", faq_config="nova-lite", quality=0.8))
    change = diff(document("r1"), document("r2", faq_config="nova-lite", quality=0.8))
    assert change["intents"]["faq"]["changed"] and change["intents"]["faq"]["mean_quality"] == pytest.approx(-0.1)
    assert not change["intents"]["recommendation"]["changed"]
    assert rollback(store, "r1")["changed"] and current_document(store)["run_id"] == "r1"
    with pytest.raises(MangaEvalError, match="no routing document for run 'nope'"):
        rollback(store, "nope")


def test_invalid_document_is_never_written(tmp_path):
    store = LocalStore(tmp_path)
    bad = {**document("r1"), "routes": {}}
    with pytest.raises(InvalidRouting):
        publish(store, bad)
    assert store.list("routing/") == []


def test_routing_cli_show_diff_rollback(tmp_path):
    import json
    import subprocess
    import sys

    store = LocalStore(tmp_path)
    publish(store, document("r1"))
    publish(store, document("r2", faq_config="nova-lite"))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "mangaeval.cli", "routing", *args, "--store-uri", str(tmp_path)],
                              capture_output=True, text=True, timeout=120)

    shown = cli("show", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["run_id"] == "r2"
    changed = cli("diff", "r1", "r2", "--json")
    faq = json.loads(changed.stdout)["intents"]["faq"]
    assert (faq["from"], faq["to"], faq["changed"]) == ("haiku-3-5", "nova-lite", True)
    assert cli("rollback", "r1").returncode == 0 and current_document(store)["run_id"] == "r1"
    missing = cli("rollback", "nope")
    assert missing.returncode == 2 and "no routing document for run 'nope'" in missing.stderr


def test_put_if_unchanged_writes_only_over_what_was_read(store):
    first = store.put_if_unchanged("cas/doc.json", b"1", None)  # absent when read: created
    with pytest.raises(PreconditionFailed):
        store.put_if_unchanged("cas/doc.json", b"x", None)  # read as absent, but it exists now
    second = store.put_if_unchanged("cas/doc.json", b"2", first)
    with pytest.raises(PreconditionFailed):
        store.put_if_unchanged("cas/doc.json", b"y", first)  # someone wrote after our read
    assert store.get("cas/doc.json") == (b"2", second)
