"""What the double answers instead of generating, and the admin endpoints that script it.

For a request that passed validation, in this order:
1. a **forced fault** queued for its model ("the next N calls to model M fail with code C"):
   `POST /_double/fault-queue {"model_id": M, "count": N, "code": C[, "message": ...]}` (M: a catalog model id, an
   inference profile id, a SageMaker endpoint name, or "*" for any model; queued entries are used in order), `GET`
   lists what is left, `DELETE` empties it. C is one of the Converse operation's error codes in botocore's
   bedrock-runtime model, sent with that model's HTTP status; the message defaults to the wording of the double's
   own faults (responder.FAULTS) or the first sentence of botocore's documentation of the error.
2. a **per-prompt override**: `POST /_double/prompt-overrides {"prompt_hash": H | "request": {...}, "model_id": M
   (default "*"), "times": N (default: until deleted), and either "text" (with optional "stop_reason", "usage",
   "latency_ms") or "error" {"code", "message"}}`; `GET` lists them, `DELETE` removes them all.
3. a **fixture** of the library the double serves (`--fixtures DIR`, double/fixtures.py).

`POST /_double/overrides` (profile fields for every model) is another thing: it changes how answers are generated.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from mangaeval.double.fixtures import FixtureServer
from mangaeval.double.profiles import Profile
from mangaeval.double.responder import FAULTS, DoubleError, DoubleReply
from mangaeval.request_hash import prompt_hash
from mangaeval.fixtures.library import STOP_REASONS
from mangaeval.models import ModelSpec
from mangaeval.prompts import parse_request
from mangaeval.text import estimate_tokens

ANY_MODEL = "*"
FAULT_QUEUE_PATH = "/_double/fault-queue"
PROMPT_OVERRIDES_PATH = "/_double/prompt-overrides"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@lru_cache(maxsize=1)
def converse_error_codes() -> dict[str, tuple[int, str]]:
    """code -> (HTTP status, default message) for every error the Converse operation declares in botocore's model."""
    import botocore.session

    operation = botocore.session.get_session().get_service_model("bedrock-runtime").operation_model("Converse")
    ours = {error_type: message for _, _, error_type, message in FAULTS}
    codes = {}
    for shape in operation.error_shapes:
        doc = html.unescape(re.sub(r"<[^>]+>", "", shape.documentation or "")).strip()
        first_sentence = doc.split(". ")[0].rstrip(".") + "." if doc else shape.name
        codes[shape.name] = (int(shape.metadata["error"]["httpStatusCode"]), ours.get(shape.name, first_sentence))
    return codes


class AdminError(ValueError):
    """A bad admin request: answered 400 with this message."""


def _error_for(doc: Any, where: str) -> DoubleError:
    codes = converse_error_codes()
    if not isinstance(doc, dict) or doc.get("code") not in codes:
        code = doc.get("code") if isinstance(doc, dict) else doc
        raise AdminError(f"{where}: code {code!r} is not an error of Bedrock's Converse (one of {', '.join(sorted(codes))})")
    status, message = codes[doc["code"]]
    if doc.get("message") is not None and not isinstance(doc["message"], str):
        raise AdminError(f"{where}: message must be a string")
    return DoubleError(status, doc["code"], doc.get("message") or message)


@dataclass
class _Fault:
    remaining: int
    error: DoubleError


@dataclass
class _Override:
    model_id: str
    prompt_hash: str
    remaining: int | None  # None: until deleted
    text: str | None = None
    stop_reason: str = "end_turn"
    usage: dict[str, int] | None = None
    latency_ms: int | None = None
    error: DoubleError | None = None

    def to_json(self) -> dict[str, Any]:
        doc = {"model_id": self.model_id, "prompt_hash": self.prompt_hash, "times_left": self.remaining}
        if self.error:
            doc["error"] = {"status": self.error.status, "code": self.error.error_type, "message": self.error.message}
        else:
            doc.update(text=self.text, stop_reason=self.stop_reason, usage=self.usage, latency_ms=self.latency_ms)
        return doc

    def reply(self, profile: Profile, body: dict[str, Any]) -> DoubleReply | DoubleError:
        if self.error:
            return self.error
        text = self.text or ""
        input_tokens = self.usage["inputTokens"] if self.usage else estimate_tokens(parse_request(body)["text"])
        output_tokens = self.usage["outputTokens"] if self.usage else estimate_tokens(text)
        generation = output_tokens * 1000.0 / profile.tokens_per_s if profile.tokens_per_s > 0 else 0.0
        latency = self.latency_ms if self.latency_ms is not None else int(round(profile.first_token_ms + generation))
        return DoubleReply(text, input_tokens, output_tokens, latency, self.stop_reason, int(min(latency, profile.first_token_ms)))


class ScriptedResponses:
    """Forced faults, per-prompt overrides and fixtures (see the module doc); thread-safe."""

    def __init__(self, catalog: dict[str, ModelSpec], fixtures: FixtureServer | None = None):
        self.catalog = catalog
        self.fixtures = fixtures
        self._lock = threading.Lock()
        self._faults: dict[str, deque[_Fault]] = {}
        self._overrides: dict[tuple[str, str], _Override] = {}
        self.forced = 0
        self.overridden = 0

    # ---- answering ----------------------------------------------------------------------------------------------
    def answer(self, spec: ModelSpec, profile: Profile, body: dict[str, Any]) -> DoubleReply | DoubleError | None:
        """What to answer instead of generating; None: generate."""
        with self._lock:
            for key in (spec.model_id, ANY_MODEL):
                queue = self._faults.get(key)
                if queue:
                    fault = queue[0]
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        queue.popleft()
                    self.forced += 1
                    return fault.error
            digest = prompt_hash(body)
            override = self._overrides.get((spec.model_id, digest)) or self._overrides.get((ANY_MODEL, digest))
            if override is not None:
                if override.remaining is not None:
                    override.remaining -= 1
                    if override.remaining == 0:
                        del self._overrides[(override.model_id, digest)]
                self.overridden += 1
        if override is not None:
            return override.reply(profile, body)
        if self.fixtures is not None:
            return self.fixtures.answer(spec.model_id, digest, profile)
        return None

    def reset(self) -> None:
        """Counters only: queued faults and overrides stay until their own DELETE."""
        with self._lock:
            self.forced = self.overridden = 0
        if self.fixtures is not None:
            self.fixtures.reset()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            doc = {"forced_faults": self.forced, "prompt_overrides_served": self.overridden,
                   "faults_queued": sum(f.remaining for q in self._faults.values() for f in q),
                   "prompt_overrides": len(self._overrides)}
        if self.fixtures is not None:
            doc["fixtures"] = self.fixtures.stats()
        return doc

    # ---- the admin endpoints ------------------------------------------------------------------------------------
    def _model_key(self, value: Any, where: str) -> str:
        if value == ANY_MODEL:
            return ANY_MODEL
        if not isinstance(value, str) or not value:
            raise AdminError(f"{where}: model_id must be a model id, an inference profile id, an endpoint name or '*'")
        if value in self.catalog:
            return value
        geography, _, bare = value.partition(".")
        if bare in self.catalog and geography in self.catalog[bare].profiles:
            return bare
        for spec in self.catalog.values():
            if spec.endpoint_name == value:
                return spec.model_id
        raise AdminError(f"{where}: model_id {value!r} is not in the double's model catalog")

    def queue_faults(self, doc: Any) -> dict[str, Any]:
        where = f"POST {FAULT_QUEUE_PATH}"
        if not isinstance(doc, dict):
            raise AdminError(f"{where}: expected a JSON object {{model_id, count, code[, message]}}")
        unknown = sorted(set(doc) - {"model_id", "count", "code", "message"})
        if unknown:
            raise AdminError(f"{where}: unknown field(s) {unknown}")
        model = self._model_key(doc.get("model_id"), where)
        count = doc.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise AdminError(f"{where}: count must be a whole number >= 1, got {count!r}")
        error = _error_for(doc, where)
        with self._lock:
            self._faults.setdefault(model, deque()).append(_Fault(count, error))
        return self.fault_queue()

    def fault_queue(self) -> dict[str, Any]:
        with self._lock:
            return {"queue": [{"model_id": m, "count": f.remaining, "code": f.error.error_type, "status": f.error.status,
                               "message": f.error.message} for m, q in self._faults.items() for f in q]}

    def clear_faults(self) -> dict[str, Any]:
        with self._lock:
            self._faults.clear()
        return {"queue": []}

    def set_override(self, doc: Any) -> dict[str, Any]:
        where = f"POST {PROMPT_OVERRIDES_PATH}"
        if not isinstance(doc, dict):
            raise AdminError(f"{where}: expected a JSON object")
        allowed = {"model_id", "prompt_hash", "request", "times", "text", "stop_reason", "usage", "latency_ms", "error"}
        unknown = sorted(set(doc) - allowed)
        if unknown:
            raise AdminError(f"{where}: unknown field(s) {unknown} (allowed: {', '.join(sorted(allowed))})")
        if ("prompt_hash" in doc) == ("request" in doc):
            raise AdminError(f"{where}: give either prompt_hash or request (whose prompt hash is then computed)")
        if "request" in doc:
            if not isinstance(doc["request"], dict) or not isinstance(doc["request"].get("messages"), list):
                raise AdminError(f"{where}: request must be a Converse request with messages")
            digest = prompt_hash(doc["request"])
        else:
            digest = doc["prompt_hash"]
            if not isinstance(digest, str) or not _HEX64.match(digest):
                raise AdminError(f"{where}: prompt_hash must be 64 lowercase hex digits")
        model = self._model_key(doc.get("model_id", ANY_MODEL), where)
        times = doc.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise AdminError(f"{where}: times must be a whole number >= 1 or null (until deleted), got {times!r}")
        if ("text" in doc) == ("error" in doc):
            raise AdminError(f"{where}: give either text (an answer) or error {{code, message}}")
        override = _Override(model, digest, times)
        if "error" in doc:
            extra = sorted({"stop_reason", "usage", "latency_ms"} & set(doc))
            if extra:
                raise AdminError(f"{where}: {extra} make no sense with an error")
            override.error = _error_for(doc["error"], f"{where} error")
        else:
            if not isinstance(doc["text"], str):
                raise AdminError(f"{where}: text must be a string (may be empty)")
            override.text = doc["text"]
            override.stop_reason = doc.get("stop_reason", "end_turn")
            if override.stop_reason not in STOP_REASONS:
                raise AdminError(f"{where}: stop_reason must be one of {', '.join(STOP_REASONS)}")
            usage = doc.get("usage")
            if usage is not None:
                if not isinstance(usage, dict) or not all(isinstance(usage.get(k), int) and not isinstance(usage.get(k), bool)
                                                          and usage[k] >= 0 for k in ("inputTokens", "outputTokens")):
                    raise AdminError(f"{where}: usage must hold inputTokens and outputTokens as whole numbers >= 0")
                override.usage = {"inputTokens": usage["inputTokens"], "outputTokens": usage["outputTokens"]}
            latency = doc.get("latency_ms")
            if latency is not None and (isinstance(latency, bool) or not isinstance(latency, int) or latency < 0):
                raise AdminError(f"{where}: latency_ms must be a whole number >= 0")
            override.latency_ms = latency
        with self._lock:
            self._overrides[(model, digest)] = override
        return {"override": override.to_json()}

    def prompt_overrides(self) -> dict[str, Any]:
        with self._lock:
            return {"overrides": [o.to_json() for o in self._overrides.values()]}

    def clear_overrides(self) -> dict[str, Any]:
        with self._lock:
            self._overrides.clear()
        return {"overrides": []}

    def handle(self, method: str, path: str, raw: bytes) -> tuple[int, dict[str, Any]] | None:
        """An admin request's (status, JSON answer); None when `path` is not one of these endpoints."""
        path = urlsplit(path).path
        routes = {FAULT_QUEUE_PATH: (self.fault_queue, self.queue_faults, self.clear_faults),
                  PROMPT_OVERRIDES_PATH: (self.prompt_overrides, self.set_override, self.clear_overrides)}
        if path not in routes:
            return None
        get, post, delete = routes[path]
        try:
            if method == "GET":
                return 200, get()
            if method == "DELETE":
                return 200, delete()
            if method == "POST":
                try:
                    doc = json.loads(raw or b"null")
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise AdminError(f"POST {path}: body is not JSON ({exc})") from None
                return 200, post(doc)
        except AdminError as exc:
            return 400, {"message": str(exc)}
        return 405, {"message": f"{method} {path}: use GET, POST or DELETE"}
