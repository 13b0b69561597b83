"""The canary split document: immutable versions, conditional publication (a local folder and S3 on a local
moto server), refusal to overwrite a split changed by someone else, and rollback to version 0 with its reason."""

from __future__ import annotations

import json
import threading

import pytest

from mangaeval.canary import split
from mangaeval.errors import MangaEvalError
from mangaeval.routing.publish import PublishConflict
from tests.conftest import object_store

INTENTS = ["faq", "recommendation"]


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, monkeypatch):
    return object_store(request.param, request, tmp_path, monkeypatch, "canary")


def current(store):
    return split.current(store)[0]


def test_start_advance_and_complete(store):
    assert split.start(store, "r1", "sonnet-3-5-v2", INTENTS)["changed"]
    assert current(store)["canary_pct"] == 0 and current(store)["version"] == 0
    for stage, pct in enumerate([5, 25, 50, 100], start=1):
        result = split.advance(store, "r1", stage, pct, "sonnet-3-5-v2", INTENTS)
        assert result == {"version": stage, "changed": True, "etag": result["etag"]}
        doc = current(store)
        assert (doc["version"], doc["stage"], doc["canary_pct"], doc["intents"]) == (stage, stage, pct, INTENTS)
    versions = [k for k in store.list("canary/r1/splits/")]
    assert versions == [f"canary/r1/splits/v000{i}.json" for i in range(5)]
    assert json.loads(store.get("canary/r1/splits/v0002.json")[0])["canary_pct"] == 25  # versions stay as published


def test_a_retried_stage_reuses_its_version_and_changes_nothing(store):
    split.start(store, "r1", "c", INTENTS)
    split.advance(store, "r1", 1, 5, "c", INTENTS)
    before = store.get(split.CURRENT)
    assert split.advance(store, "r1", 1, 5, "c", INTENTS) == {"version": 1, "changed": False}
    assert store.get(split.CURRENT) == before
    assert split.start(store, "r1", "c", INTENTS)["changed"] is False  # a retried start leaves the stage alone
    with pytest.raises(MangaEvalError, match="already published with a different split"):
        split.write_version(store, split.split_document("r1", 1, 1, 10, "c", INTENTS))


def test_advancing_over_a_split_someone_else_changed_is_refused(store):
    split.start(store, "r1", "c", INTENTS)
    split.advance(store, "r1", 1, 5, "c", INTENTS)
    store.put(split.CURRENT, split._bytes(split.split_document("manual", 3, 3, 50, "other", INTENTS)))  # a human edit
    with pytest.raises(PublishConflict, match="expected r1 v1, found manual v3"):
        split.advance(store, "r1", 2, 25, "c", INTENTS)
    assert current(store)["rollout_id"] == "manual"  # nothing overwritten


def test_a_lost_conditional_write_overwrites_nothing(store):
    """Between our read of `current` and our write, another writer changes it: the If-Match write fails."""
    split.start(store, "r1", "c", INTENTS)
    real_get = store.get
    raced = threading.Event()

    def get_then_race(key):
        found = real_get(key)
        if key == split.CURRENT and not raced.is_set():
            raced.set()
            doc = split.parse(found[0], key)
            store.put(split.CURRENT, split._bytes({**doc, "note": "touched by another writer"}))
        return found

    store.get = get_then_race
    with pytest.raises(PublishConflict, match="changed by someone else"):
        split.advance(store, "r1", 1, 5, "c", INTENTS)
    store.get = real_get
    assert current(store)["note"] == "touched by another writer" and current(store)["version"] == 0


def test_rollback_makes_version_0_current_records_why_and_blocks_advancing(store):
    split.start(store, "r1", "c", INTENTS)
    split.advance(store, "r1", 1, 5, "c", INTENTS)
    split.advance(store, "r1", 2, 25, "c", INTENTS)
    result = split.rollback(store, "r1", ["latency: P95 4,200 ms above the 3,000 ms SLA"], stage=2)
    assert result["changed"] and current(store)["version"] == 0 and current(store)["canary_pct"] == 0
    assert store.get(split.CURRENT)[0] == store.get(split.version_key("r1", 0))[0]  # the previous split itself, byte for byte
    record = split.rolled_back(store, "r1")
    assert record["reasons"] == ["latency: P95 4,200 ms above the 3,000 ms SLA"] and record["from_version"] == 2
    assert split.rollback(store, "r1", ["again"], stage=2)["changed"] is False  # idempotent; first record stands
    assert split.rolled_back(store, "r1")["reasons"][0].startswith("latency")
    with pytest.raises(MangaEvalError, match="was rolled back"):
        split.advance(store, "r1", 3, 50, "c", INTENTS)


def test_a_second_rollout_waits_for_the_first(store):
    split.start(store, "r1", "c", INTENTS)
    split.advance(store, "r1", 1, 5, "c", INTENTS)
    with pytest.raises(MangaEvalError, match="rollout 'r1' is in progress"):
        split.start(store, "r2", "d", INTENTS)
    split.rollback(store, "r1", ["quality"], stage=1)
    assert split.start(store, "r2", "d", INTENTS)["changed"] and current(store)["rollout_id"] == "r2"


def test_bad_rollout_ids_and_documents_are_refused(tmp_path):
    with pytest.raises(MangaEvalError, match="rollout id"):
        split.version_key("../etc", 0)
    with pytest.raises(MangaEvalError, match="not a mangaassist.canary_split/v1 document"):
        split.parse(b'{"rollout_id": "r"}', "x")
