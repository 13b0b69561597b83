"""The double serving a fixture library (`double serve --fixtures DIR`): a request whose model and prompt hash a
fixture holds gets that fixture's answer or error, as recorded; the others are generated (`--fixtures-miss
generate`) or refused with FixtureNotFoundException (`refuse`), a clear 404 no real service sends."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from mangaeval.double.profiles import Profile
from mangaeval.double.responder import DoubleError, DoubleReply
from mangaeval.fixtures.library import Fixture, Library, load_library

MISS_POLICIES = ("generate", "refuse")
FIXTURE_NOT_FOUND = "FixtureNotFoundException"


def reply_from(fixture: Fixture, profile: Profile) -> DoubleReply | DoubleError:
    """A fixture as the double's answer. Fixtures keep no time to first token: a stream starts after the profile's
    first-token time (at most the recorded latency)."""
    if not fixture.ok:
        return DoubleError(fixture.status, fixture.error["code"], fixture.error["message"])
    usage = fixture.usage or {}
    latency = int(fixture.latency_ms or 0)
    return DoubleReply(fixture.text or "", int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)), latency,
                       fixture.stop_reason or "end_turn", int(min(latency, profile.first_token_ms)))


class FixtureServer:
    """Fixtures by (model id, prompt hash). Several for one key are a sequence: served in library order, one per
    call, the last repeating (a recorded throttle, then the answer)."""

    def __init__(self, library: Library, miss: str = "generate"):
        if miss not in MISS_POLICIES:
            raise ValueError(f"miss policy {miss!r}: one of {MISS_POLICIES}")
        self.library = library
        self.miss = miss
        self._by_key: dict[tuple[str, str], list[Fixture]] = defaultdict(list)
        for fixture in library.fixtures:
            self._by_key[fixture.key].append(fixture)
        self._served: Counter = Counter()
        self._lock = threading.Lock()
        self.hits: Counter = Counter()  # fixture id -> times served
        self.misses = 0

    @classmethod
    def from_path(cls, path: str | Path, miss: str = "generate", catalog: dict[str, Any] | None = None) -> "FixtureServer":
        return cls(load_library(path, catalog), miss)

    def answer(self, model_id: str, prompt_hash: str, profile: Profile) -> DoubleReply | DoubleError | None:
        """The fixture's answer; on a miss None (generate) or the refusal."""
        sequence = self._by_key.get((model_id, prompt_hash))
        with self._lock:
            if not sequence:
                self.misses += 1
            else:
                position = min(self._served[(model_id, prompt_hash)], len(sequence) - 1)
                self._served[(model_id, prompt_hash)] += 1
                self.hits[sequence[position].id] += 1
        if sequence:
            return reply_from(sequence[position], profile)
        if self.miss == "generate":
            return None
        return DoubleError(404, FIXTURE_NOT_FOUND,
                           f"Model double: no fixture for model {model_id} with prompt hash {prompt_hash} in {self.library.path} "
                           "(started with --fixtures-miss refuse). Record it with `mangaeval fixtures record`, or start the "
                           "double with --fixtures-miss generate.")

    def reset(self) -> None:
        with self._lock:
            self._served.clear()
            self.hits.clear()
            self.misses = 0

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"library": str(self.library.path), "fixtures": len(self.library.fixtures), "miss_policy": self.miss,
                    "served": sum(self.hits.values()), "misses": self.misses, "hits": dict(self.hits)}
