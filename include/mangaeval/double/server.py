"""HTTP server speaking the Bedrock Runtime Converse wire protocol (and SageMaker Runtime's InvokeEndpoint), so
unmodified boto3 clients talk to it.

Routes: POST /model/{modelId}/converse and /model/{modelId}/converse-stream (as Bedrock), POST
/endpoints/{name}/invocations (as sagemaker-runtime, the chat-completions payload of the TGI/LMI containers),
plus GET /_double/stats (calls, refusals, and the usage report with cost at catalog prices) and POST /_double/reset
for tests, and POST /_double/overrides (a JSON object of profile fields applied to every model from then on, e.g.
{"throttle_rate": 1}, and optionally "time_scale"; {} restores the profiles and time scale it started with): a
deployment's double service is shaped at run time, as `--override` shapes it at start. /_double/fault-queue and
/_double/prompt-overrides script single answers, and `--fixtures DIR` serves a fixture library (double/admin.py,
double/fixtures.py). It enforces the invocation rules of
include/config/models.yaml as the service does (unknown ids, bare ids of profile-only models, sampling parameters,
maxTokens, malformed messages), and errors carry the service's HTTP status, `x-amzn-ErrorType` and wording, so
botocore raises the same exception classes with the same messages it raises against AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote

from mangaeval.double.admin import ScriptedResponses
from mangaeval.double.eventstream import encode_event, encode_exception
from mangaeval.double.profiles import Profile, load_profiles
from mangaeval.double.quota import QuotaMeter
from mangaeval.double.responder import (QUOTA_EXCEEDED, SAGEMAKER_FAULTS, DoubleError, DoubleReply, draw_error, draw_outcome, request_digest,
                                        resolve_invocation, respond, validate)
from mangaeval.double.usage import UsageMeter
from mangaeval.models import ModelSpec, load_model_catalog
from mangaeval.sagemaker import converse_request

_ROUTE = re.compile(r"^/model/(?P<model>.+)/(?P<op>converse|converse-stream)$")
_SAGEMAKER_ROUTE = re.compile(r"^/endpoints/(?P<endpoint>[^/]+)/invocations$")
STREAM_CHUNK_CHARS = 24


@dataclass
class ModelDouble:
    """The double's state: profiles, seed, time scale and per-model call counters."""

    profiles: dict[str, Profile]
    catalog: dict[str, ModelSpec]
    seed: int = 0
    time_scale: float = 1.0
    calls: Counter = field(default_factory=Counter)  # per id as requested (model, profile, ARN or endpoint)
    model_calls: Counter = field(default_factory=Counter)  # per catalog model (cold starts are the model's)
    refused: Counter = field(default_factory=Counter)  # requests refused by a rule, per error type
    occurrences: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    last_activity: float = field(default_factory=time.monotonic)
    base_profiles: dict[str, Profile] | None = None  # as started (set_overrides applies on top of these)
    live_overrides: dict[str, float] = field(default_factory=dict)
    base_time_scale: float | None = None  # as started (an override of time_scale applies until the next overrides)
    quota: QuotaMeter = field(default_factory=QuotaMeter)  # profiles' quota_rpm, and what was served per minute
    # Requests asked again after the double had delivered their answer (Converse): what a client paid twice. Each
    # entry: when the first answer went out and when the same request came again (wall clock, seconds).
    answered_at: dict[str, float] = field(default_factory=dict)
    asked_again: list[dict[str, float]] = field(default_factory=list)
    script: ScriptedResponses | None = None  # forced faults, prompt overrides, fixtures (double/admin.py)
    usage: UsageMeter = field(default_factory=UsageMeter)

    def __post_init__(self) -> None:
        if self.script is None:
            self.script = ScriptedResponses(self.catalog)

    def set_overrides(self, overrides: dict[str, Any]) -> dict[str, float]:
        """Profile fields applied to every model from now on ({} restores the started profiles); ConfigError if bad."""
        from dataclasses import replace

        from mangaeval.double.profiles import NUMERIC_FIELDS, field_problem
        from mangaeval.errors import ConfigError

        if not isinstance(overrides, dict):
            raise ConfigError([f"overrides: expected a JSON object of profile fields, got {type(overrides).__name__}"])
        overrides = dict(overrides)
        time_scale = overrides.pop("time_scale", None)  # not a profile field: the double's own clock
        if time_scale is not None and (problem := field_problem("time_scale", time_scale)):
            raise ConfigError([problem])
        problems = [f"unknown profile field '{k}' (one of {', '.join(NUMERIC_FIELDS)})" for k in overrides if k not in NUMERIC_FIELDS]
        problems += [p for k, v in overrides.items() if k in NUMERIC_FIELDS for p in [field_problem(k, v)] if p]
        if problems:
            raise ConfigError(problems)
        with self.lock:
            if self.base_profiles is None:
                self.base_profiles = dict(self.profiles)
            if self.base_time_scale is None:
                self.base_time_scale = self.time_scale
            self.profiles = {m: replace(p, **overrides) for m, p in self.base_profiles.items()}
            self.time_scale = self.base_time_scale if time_scale is None else float(time_scale)
            self.live_overrides = {k: float(v) for k, v in overrides.items()}
            if time_scale is not None:
                self.live_overrides["time_scale"] = float(time_scale)
            return dict(self.live_overrides)

    @contextlib.contextmanager
    def activity(self) -> Iterator[None]:
        """Around each request: the double is idle only while no request is in flight (see `idle_s`)."""
        with self.lock:
            self.in_flight += 1
        try:
            yield
        finally:
            with self.lock:
                self.in_flight -= 1
                self.last_activity = time.monotonic()

    def idle_s(self) -> float:
        with self.lock:
            return 0.0 if self.in_flight else time.monotonic() - self.last_activity

    def answer(self, requested_id: str, body: dict[str, Any]) -> DoubleError | DoubleReply:
        """A Converse request to `requested_id` (a model id, an inference profile id or an endpoint ARN)."""
        spec, refused = resolve_invocation(self.catalog, requested_id)
        return self._answer(requested_id, spec, refused or (validate(spec, body) if spec else None), body)

    def answer_endpoint(self, endpoint_name: str, body: dict[str, Any]) -> DoubleError | DoubleReply:
        """An InvokeEndpoint request (already read back into Converse shape) to a SageMaker endpoint."""
        spec = next((s for s in self.catalog.values() if s.endpoint_name == endpoint_name), None)
        refused = None if spec else DoubleError(400, "ValidationError", f"Endpoint {endpoint_name} of account 111122223333 not found.")
        if spec and not refused:
            max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
            if isinstance(max_tokens, int) and max_tokens > spec.max_output_tokens:  # the container's own limit (TGI: 422)
                refused = DoubleError(424, "ModelError", 'Received client error (422) from primary with message "{""error"":'
                                      f'""Input validation error: `max_new_tokens` must be <= {spec.max_output_tokens}""}}".')
        result = self._answer(endpoint_name, spec, refused, body)
        if isinstance(result, DoubleError) and result.error_type in SAGEMAKER_FAULTS:
            return DoubleError(*SAGEMAKER_FAULTS[result.error_type])
        return result

    def _answer(self, counted_as: str, spec: ModelSpec | None, refused: DoubleError | None, body: dict[str, Any]) -> DoubleError | DoubleReply:
        digest = request_digest(counted_as, body)
        with self.lock:
            if digest in self.answered_at:
                self.asked_again.append({"answered_at": self.answered_at[digest], "asked_at": time.time()})
            self.calls[counted_as] += 1
            self.occurrences[digest] += 1
            occurrence = self.occurrences[digest]
            if spec:
                self.model_calls[spec.model_id] += 1
            call_index = self.model_calls[spec.model_id] if spec else 0
        if refused:
            with self.lock:
                self.refused[refused.error_type] += 1
            return refused
        profile = self.profiles[spec.model_id]
        if not self.quota.admit(spec.model_id, profile.quota_rpm):
            return DoubleError(*QUOTA_EXCEEDED)
        result = self.script.answer(spec, profile, body)  # None: not scripted, generate
        if result is None:
            result = draw_error(profile, self.seed, digest, occurrence)
        if result is None:
            outcome = draw_outcome(profile, self.seed, digest, occurrence)
            result = respond(profile, spec.model_id, body, self.seed, cold=call_index <= profile.cold_start_calls, outcome=outcome)
        if isinstance(result, DoubleReply):
            self.usage.record(spec.model_id, result.input_tokens, result.output_tokens)
        elif result.error_type == "ModelTimeoutException":
            self.sleep_ms(profile.first_token_ms * 2)
        return result

    def mark_answered(self, counted_as: str, body: dict[str, Any]) -> None:
        """The answer to this request has been written to the client."""
        digest = request_digest(counted_as, body)
        with self.lock:
            self.answered_at.setdefault(digest, time.time())

    def sleep_ms(self, ms: float) -> None:
        if self.time_scale > 0 and ms > 0:
            time.sleep(ms * self.time_scale / 1000.0)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            doc = {"calls": dict(self.calls), "total_calls": sum(self.calls.values()), "refused": dict(self.refused),
                   "overrides": dict(self.live_overrides), "per_minute": self.quota.snapshot(), "in_flight": self.in_flight,
                   "asked_again": list(self.asked_again)}
        return doc | {"usage": self.usage.report(self.catalog), "scripted": self.script.stats()}

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.model_calls.clear()
            self.refused.clear()
            self.occurrences.clear()
            self.answered_at.clear()
            self.asked_again.clear()
        self.quota.reset()
        self.usage.reset()
        self.script.reset()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stall
    double: ModelDouble  # set on the subclass built by make_server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the engine logs what matters
        return

    def _send_json(self, status: int, doc: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(doc, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_error(self, error: DoubleError) -> None:
        self._send_json(error.status, {"message": error.message}, {"x-amzn-ErrorType": f"{error.error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"})

    def do_GET(self) -> None:
        with self.double.activity():
            self._get()

    def do_POST(self) -> None:
        with self.double.activity():
            self._post()

    def do_DELETE(self) -> None:
        with self.double.activity():
            self._send_json(*(self.double.script.handle("DELETE", self.path, b"") or (404, {"message": f"no route {self.path}"})))

    def _get(self) -> None:
        if (admin := self.double.script.handle("GET", self.path, b"")) is not None:
            self._send_json(*admin)
        elif self.path == "/_double/stats":
            self._send_json(200, self.double.stats())
        elif self.path == "/ping":
            self._send_json(200, {"status": "ok"})
        else:
            self._send_json(404, {"message": f"no route {self.path}"})

    def _post(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if (admin := self.double.script.handle("POST", self.path, raw)) is not None:
            self._send_json(*admin)
            return
        if self.path == "/_double/reset":
            self.double.reset()
            self._send_json(200, {"status": "reset"})
            return
        if self.path == "/_double/overrides":
            from mangaeval.errors import ConfigError

            try:
                applied = self.double.set_overrides(json.loads(raw or b"{}"))
            except (json.JSONDecodeError, ConfigError) as exc:
                self._send_json(400, {"message": str(exc)})
                return
            self._send_json(200, {"overrides": applied})
            return
        endpoint = _SAGEMAKER_ROUTE.match(self.path.split("?", 1)[0])
        if endpoint:
            self._invoke_endpoint(unquote(endpoint.group("endpoint")), raw)
            return
        route = _ROUTE.match(self.path.split("?", 1)[0])
        if not route:
            self._send_json(404, {"message": f"no route {self.path}"}, {"x-amzn-ErrorType": "UnknownOperationException"})
            return
        model_id = unquote(route.group("model"))
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            self._send_error(DoubleError(400, "ValidationException", f"Malformed request body: {exc.msg}"))
            return
        result = self.double.answer(model_id, body)
        if isinstance(result, DoubleError):
            self._send_error(result)
        elif route.group("op") == "converse":
            self.double.sleep_ms(result.latency_ms)
            self._send_json(200, {
                "output": {"message": {"role": "assistant", "content": [{"text": result.text}]}},
                "stopReason": result.stop_reason,
                "usage": {"inputTokens": result.input_tokens, "outputTokens": result.output_tokens,
                          "totalTokens": result.input_tokens + result.output_tokens},
                "metrics": {"latencyMs": result.latency_ms},
            })
            self.double.mark_answered(model_id, body)
        else:
            self._stream(result)

    def _invoke_endpoint(self, endpoint_name: str, raw: bytes) -> None:
        try:
            payload = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_error(DoubleError(424, "ModelError", 'Received client error (422) from primary with message "Failed to deserialize the JSON body".'))
            return
        result = self.double.answer_endpoint(endpoint_name, converse_request(payload))
        if isinstance(result, DoubleError):
            self._send_error(result)
            return
        self.double.sleep_ms(result.latency_ms)
        self._send_json(200, {
            "object": "chat.completion", "id": "", "created": int(time.time()), "model": endpoint_name,
            "system_fingerprint": "mangaeval-double",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": result.text}, "logprobs": None,
                         "finish_reason": {"max_tokens": "length", "content_filtered": "content_filter"}.get(result.stop_reason, "stop")}],
            "usage": {"prompt_tokens": result.input_tokens, "completion_tokens": result.output_tokens,
                      "total_tokens": result.input_tokens + result.output_tokens},
        }, {"x-Amzn-Invoked-Production-Variant": "AllTraffic"})

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, reply: DoubleReply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        text = reply.text
        pieces = [text[i:i + STREAM_CHUNK_CHARS] for i in range(0, len(text), STREAM_CHUNK_CHARS)] or [""]
        per_piece_ms = max(reply.latency_ms - reply.first_token_ms, 0) / len(pieces)
        self._write_chunk(encode_event("messageStart", {"role": "assistant"}))
        self.double.sleep_ms(reply.first_token_ms)
        for index, piece in enumerate(pieces):
            if reply.stream_error and index == len(pieces) // 2:  # the stream breaks off part-way, as Bedrock's can
                self._write_chunk(encode_exception(*reply.stream_error))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            self._write_chunk(encode_event("contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": 0}))
            self.double.sleep_ms(per_piece_ms)
        self._write_chunk(encode_event("contentBlockStop", {"contentBlockIndex": 0}))
        self._write_chunk(encode_event("messageStop", {"stopReason": reply.stop_reason}))
        self._write_chunk(encode_event("metadata", {
            "usage": {"inputTokens": reply.input_tokens, "outputTokens": reply.output_tokens,
                      "totalTokens": reply.input_tokens + reply.output_tokens},
            "metrics": {"latencyMs": reply.latency_ms},
        }))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class DoubleHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    stop_reason: str | None = None  # set by watch_lifetime when it stops the server

    def __init__(self, address: tuple[str, int], double: ModelDouble):
        handler = type("BoundHandler", (_Handler,), {"double": double})
        super().__init__(address, handler)
        self.double = double

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(host: str = "127.0.0.1", port: int = 0, seed: int = 0, time_scale: float = 1.0,
                profiles: dict[str, Profile] | None = None, catalog: dict[str, ModelSpec] | None = None,
                fixtures: Path | str | None = None, fixtures_miss: str = "generate") -> DoubleHTTPServer:
    """`fixtures`: a fixture library folder (or version) to serve by prompt hash; `fixtures_miss`: what an unknown
    prompt gets ("generate" or "refuse"). A bad library raises FixtureError before anything listens."""
    catalog = catalog or load_model_catalog()
    served = None
    if fixtures is not None:
        from mangaeval.double.fixtures import FixtureServer

        served = FixtureServer.from_path(fixtures, fixtures_miss, catalog)
    return DoubleHTTPServer((host, port), ModelDouble(profiles or load_profiles(), catalog, seed=seed, time_scale=time_scale,
                                                      script=ScriptedResponses(catalog, served)))


class DoubleInThread:
    """The double in a background thread of this process (tests): `with DoubleInThread() as url:`."""

    def __init__(self, **kwargs: Any):
        self.server = make_server(**kwargs)
        self.thread = threading.Thread(target=self.server.serve_forever, name="model-double", daemon=True)

    def __enter__(self) -> "DoubleInThread":
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return self.server.url

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def process_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): os.kill is all we know
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def watch_lifetime(server: "DoubleHTTPServer", *, idle_timeout_s: float | None = None, parent_pid: int | None = None,
                   poll_s: float = 1.0) -> threading.Thread | None:
    """Stop `server` (serve_forever returns, `server.stop_reason` says why) when `parent_pid` is gone or no request
    came for `idle_timeout_s` seconds. A double started for someone must not outlive them: its parent's SIGKILL
    runs no clean-up, and an Airflow run killed from outside never runs its teardown task."""
    if not idle_timeout_s and not parent_pid:
        return None
    is_our_parent = parent_pid == os.getppid()
    poll_s = min(poll_s, idle_timeout_s / 4) if idle_timeout_s else poll_s

    def reason() -> str | None:
        if parent_pid and ((is_our_parent and os.getppid() != parent_pid) or not process_alive(parent_pid)):
            return f"parent process {parent_pid} is gone"
        if idle_timeout_s and server.double.idle_s() >= idle_timeout_s:
            return f"no request for {idle_timeout_s:g} s (idle timeout)"
        return None

    def loop() -> None:
        while not (why := reason()):
            time.sleep(poll_s)
        server.stop_reason = why
        server.shutdown()

    thread = threading.Thread(target=loop, name="model-double-watchdog", daemon=True)
    thread.start()
    return thread


# ---- pidfiles: how a teardown task or a later run finds a double it did not start itself ----------------------------

def pidfile_for(run_id: str, folder: Path | None = None) -> Path:
    """Where the double of a run records itself (`double serve --run-id`, `double stop --run-id`)."""
    from mangaeval.paths import DATA_DIR, safe_name

    return Path(folder or DATA_DIR / "double") / f"{safe_name(run_id)}.pid"


def write_pidfile(path: Path, url: str, run_id: str | None) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "url": url, "run_id": run_id,
                               "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}) + "\n", encoding="utf-8")
    tmp.replace(path)


def remove_pidfile(path: Path, pid: int | None = None) -> None:
    """Remove `path` if it still names `pid` (default: this process): a newer double's pidfile is left alone."""
    with contextlib.suppress(OSError, ValueError):
        if read_pidfile(path).get("pid") == (pid or os.getpid()):
            Path(path).unlink()


def read_pidfile(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        from mangaeval.errors import MangaEvalError

        raise MangaEvalError(f"{path}: not a model double pidfile ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("pid"), int) or doc["pid"] < 1:
        from mangaeval.errors import MangaEvalError

        raise MangaEvalError(f"{path}: not a model double pidfile (no pid)")
    return doc


def is_double(pid: int) -> bool:
    """Whether `pid` runs `mangaeval ... double serve` (so a reused pid of another program is never signalled)."""
    if not process_alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: cannot tell, trust the pidfile
    return b"double" in argv and b"serve" in argv


def stop_pid(pid: int, timeout_s: float = 5.0) -> bool:
    """SIGTERM a double, SIGKILL if it has not exited within `timeout_s`; False if `pid` is not a running double."""
    if not is_double(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True


def stop_by_pidfile(path: Path, timeout_s: float = 5.0) -> dict[str, Any]:
    """Stop the double a pidfile names; the pidfile is removed either way. Returns what was found and done."""
    doc = read_pidfile(path)
    if not doc:
        return {"pidfile": str(path), "pid": None, "stopped": False, "why": "no pidfile"}
    stopped = stop_pid(doc["pid"], timeout_s)
    with contextlib.suppress(FileNotFoundError):
        Path(path).unlink()
    return {"pidfile": str(path), "pid": doc["pid"], "run_id": doc.get("run_id"), "stopped": stopped,
            "why": "stopped" if stopped else "stale pidfile: that process is gone or is not a model double"}


def _lifetime_args(idle_timeout_s: float | None, parent_pid: int | None, pidfile: Path | None, run_id: str | None) -> list[str]:
    args = []
    if idle_timeout_s:
        args += ["--idle-timeout", str(idle_timeout_s)]
    if parent_pid:
        args += ["--parent-pid", str(parent_pid)]
    if pidfile:
        args += ["--pidfile", str(pidfile)]
    if run_id:
        args += ["--run-id", run_id]
    return args


class DoubleProcess:
    """The double in a child process (the CLI, the benchmarks): its own core, not our GIL. It watches this process
    (--parent-pid) and stops within a second of it being gone, even when we are SIGKILLed and __exit__ never runs."""

    def __init__(self, seed: int = 0, time_scale: float = 1.0, overrides: list[str] | None = None,
                 profiles_path: Path | None = None, idle_timeout_s: float | None = None, fixtures: Path | None = None,
                 fixtures_miss: str = "generate"):
        self.args = [sys.executable, "-m", "mangaeval.cli", "double", "serve", "--port", "0",
                     "--seed", str(seed), "--time-scale", str(time_scale)]
        if fixtures is not None:
            self.args += ["--fixtures", str(fixtures), "--fixtures-miss", fixtures_miss]
        for pair in overrides or []:
            self.args += ["--override", pair]
        if profiles_path:
            self.args += ["--profiles", str(profiles_path)]
        self.args += _lifetime_args(idle_timeout_s, os.getpid(), None, None)
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> "DoubleProcess":
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"(http://\S+)", line or "")
        if not match:
            self.proc.kill()
            self.proc.wait()
            problem = f"{line}{self.proc.stderr.read()}".strip()
            if self.proc.returncode == 2:  # the double refused its arguments (profiles, overrides): bad input
                from mangaeval.errors import MangaEvalError

                raise MangaEvalError(f"model double did not start: {problem.removeprefix('mangaeval: error: ')}")
            raise RuntimeError(f"model double failed to start: {problem}")
        self.url = match.group(1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


DEFAULT_IDLE_TIMEOUT_S = 15 * 60.0  # a detached double with no request for this long stops itself


def start_detached(log_path: Path, seed: int = 0, time_scale: float = 0.0, timeout_s: float = 30.0,
                   overrides: list[str] | None = None, *, idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S,
                   parent_pid: int | None = None, pidfile: Path | None = None, run_id: str | None = None) -> tuple[str, int]:
    """Start the double as a process that outlives its caller (an Airflow setup task); returns (url, pid).

    Its output goes to `log_path`, not a pipe, so it keeps running after the starting task's process exits.
    Stop it with `stop_by_pidfile(pidfile)` or `stop_detached(pid)` (the matching teardown task). When that never
    runs (the whole DAG run killed), it stops itself after `idle_timeout_s` without a request (None: never), and
    when `parent_pid` is given, as soon as that process is gone. `pidfile` records its pid and url for `double stop`.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "mangaeval.cli", "double", "serve", "--port", "0", "--seed", str(seed), "--time-scale", str(time_scale)]
    for pair in overrides or []:
        args += ["--override", pair]
    args += _lifetime_args(idle_timeout_s, parent_pid, pidfile, run_id)
    with open(log_path, "w", encoding="utf-8") as log:
        # stdin from /dev/null and no other inherited descriptor: under Airflow 3 the task's stdin is the supervisor's
        # request socket, and a double holding it open makes the supervisor wait 60 s for it after the task exits.
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                close_fds=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        match = re.search(r"(http://\S+)", log_path.read_text(encoding="utf-8"))
        if match:
            return match.group(1), proc.pid
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"model double failed to start; its log {log_path}:\n{log_path.read_text(encoding='utf-8')[-2000:]}")


def stop_detached(pid: int) -> bool:
    """Stop a double started by `start_detached`; False if it was already gone (or the pid is no longer a double)."""
    return stop_pid(pid)
