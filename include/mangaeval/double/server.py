"""HTTP server speaking the Bedrock Runtime Converse wire protocol (and SageMaker Runtime's InvokeEndpoint), so
unmodified boto3 clients talk to it.

Routes: POST /model/{modelId}/converse and /model/{modelId}/converse-stream (as Bedrock), POST
/endpoints/{name}/invocations (as sagemaker-runtime, the chat-completions payload of the TGI/LMI containers),
plus GET /_double/stats and POST /_double/reset for tests. It enforces the invocation rules of
include/config/models.yaml as the service does (unknown ids, bare ids of profile-only models, sampling parameters,
maxTokens, malformed messages), and errors carry the service's HTTP status, `x-amzn-ErrorType` and wording, so
botocore raises the same exception classes with the same messages it raises against AWS.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from mangaeval.double.eventstream import encode_event, encode_exception
from mangaeval.double.profiles import Profile, load_profiles
from mangaeval.double.responder import (SAGEMAKER_FAULTS, DoubleError, DoubleReply, draw_error, draw_outcome, request_digest,
                                        resolve_invocation, respond, validate)
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
        error = draw_error(profile, self.seed, digest, occurrence)
        if error:
            if error.error_type == "ModelTimeoutException":
                self.sleep_ms(profile.first_token_ms * 2)
            return error
        outcome = draw_outcome(profile, self.seed, digest, occurrence)
        return respond(profile, spec.model_id, body, self.seed, cold=call_index <= profile.cold_start_calls, outcome=outcome)

    def sleep_ms(self, ms: float) -> None:
        if self.time_scale > 0 and ms > 0:
            time.sleep(ms * self.time_scale / 1000.0)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"calls": dict(self.calls), "total_calls": sum(self.calls.values()), "refused": dict(self.refused)}

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.model_calls.clear()
            self.refused.clear()
            self.occurrences.clear()


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
        if self.path == "/_double/stats":
            self._send_json(200, self.double.stats())
        elif self.path == "/ping":
            self._send_json(200, {"status": "ok"})
        else:
            self._send_json(404, {"message": f"no route {self.path}"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path == "/_double/reset":
            self.double.reset()
            self._send_json(200, {"status": "reset"})
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

    def __init__(self, address: tuple[str, int], double: ModelDouble):
        handler = type("BoundHandler", (_Handler,), {"double": double})
        super().__init__(address, handler)
        self.double = double

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(host: str = "127.0.0.1", port: int = 0, seed: int = 0, time_scale: float = 1.0,
                profiles: dict[str, Profile] | None = None, catalog: dict[str, ModelSpec] | None = None) -> DoubleHTTPServer:
    return DoubleHTTPServer((host, port), ModelDouble(profiles or load_profiles(), catalog or load_model_catalog(),
                                                      seed=seed, time_scale=time_scale))


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


class DoubleProcess:
    """The double in a child process (the CLI, the DAG, benchmarks): its own core, not our GIL."""

    def __init__(self, seed: int = 0, time_scale: float = 1.0, overrides: list[str] | None = None,
                 profiles_path: Path | None = None):
        self.args = [sys.executable, "-m", "mangaeval.cli", "double", "serve", "--port", "0",
                     "--seed", str(seed), "--time-scale", str(time_scale)]
        for pair in overrides or []:
            self.args += ["--override", pair]
        if profiles_path:
            self.args += ["--profiles", str(profiles_path)]
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> "DoubleProcess":
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"(http://\S+)", line or "")
        if not match:
            self.proc.kill()
            raise RuntimeError(f"model double failed to start: {line}{self.proc.stderr.read()}")
        self.url = match.group(1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_detached(log_path: Path, seed: int = 0, time_scale: float = 0.0, timeout_s: float = 30.0,
                   overrides: list[str] | None = None) -> tuple[str, int]:
    """Start the double as a process that outlives its caller (an Airflow setup task); returns (url, pid).

    Its output goes to `log_path`, not a pipe, so it keeps running after the starting task's process exits.
    Stop it with `stop_detached(pid)` (the matching teardown task).
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "mangaeval.cli", "double", "serve", "--port", "0", "--seed", str(seed), "--time-scale", str(time_scale)]
    for pair in overrides or []:
        args += ["--override", pair]
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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
    """Stop a double started by `start_detached`; False if it was already gone."""
    import os
    import signal

    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True
