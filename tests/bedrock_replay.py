"""Recorded Amazon Bedrock Runtime exchanges (tests/fixtures/bedrock_recordings/) and a server replaying them.

Each fixture is a vcrpy cassette copied from a public test suite, with a `source:` block added (repository,
path, commit, licence, whether it was recorded against the real service and why we think so); see SOURCES.md
there. `load_recordings()` turns every interaction into a `Recording`: the request (model id, operation, body)
and the response (status, the headers that matter, the body bytes).

`ReplayServer` is a ThreadingHTTPServer on 127.0.0.1:0 answering POST /model/{modelId}/converse and
/converse-stream with recorded responses taken from a queue: one recording served N times (the last one
repeats once the queue is exhausted), or a sequence such as [throttle, throttle, success]. It keeps the
requests it received, so a test can count the client's attempts.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import unquote, urlsplit

import yaml
from botocore.eventstream import EventStreamBuffer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bedrock_recordings"
_PATH = re.compile(r"^/model/(?P<model>.+)/(?P<op>converse|converse-stream)$")
# Response headers a client acts on; the rest (Date, Connection, ...) is not replayed.
_KEPT_HEADERS = {"content-type": "Content-Type", "x-amzn-errortype": "x-amzn-ErrorType", "x-amzn-requestid": "x-amzn-RequestId"}
EVENTSTREAM = "application/vnd.amazon.eventstream"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Recording:
    id: str  # "<fixture file stem>#<interaction index>"
    source: dict[str, Any]
    method: str
    uri: str
    model_id: str
    operation: str  # "converse" | "converse-stream"
    request_body: dict[str, Any]
    status: int
    headers: dict[str, str]
    body: bytes
    body_exact: bool  # True when `body` is the service's bytes (raw, or re-serialised and equal to Content-Length)

    @property
    def real_service(self) -> Any:
        return self.source.get("real_service")

    @property
    def region(self) -> str:
        host = urlsplit(self.uri).hostname or ""
        match = re.match(r"bedrock-runtime\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com$", host)
        return match.group(1) if match else "us-east-1"

    @property
    def is_stream(self) -> bool:
        return self.headers.get("Content-Type", "").startswith(EVENTSTREAM)

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    @property
    def json_body(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def error_type(self) -> str | None:
        """The recorded error type: x-amzn-ErrorType before ':' (as botocore reads it), else the body's __type."""
        header = self.headers.get("x-amzn-ErrorType")
        if header:
            return header.split(":", 1)[0]
        if self.is_error:
            kind = self.json_body.get("__type")
            return kind.rsplit("#", 1)[-1] if kind else None
        return None

    @property
    def error_message(self) -> str | None:
        if not self.is_error:
            return None
        doc = self.json_body
        return doc.get("message") or doc.get("Message")

    def stream_events(self) -> list[tuple[str, dict[str, Any]]]:
        buffer = EventStreamBuffer()  # checks every frame's prelude and message CRC
        buffer.add_data(self.body)
        return [(_text(m.headers.get(":event-type")), json.loads(m.payload or b"{}")) for m in buffer]

    def expected(self) -> dict[str, Any]:
        """What a client should read out of a successful recording: text, tokens, latency, stop reason."""
        if self.is_stream:
            pieces: list[str] = []
            usage: dict[str, Any] = {}
            metrics: dict[str, Any] = {}
            stop = None
            for kind, payload in self.stream_events():
                if kind == "contentBlockDelta":
                    pieces.append(payload["delta"].get("text", ""))
                elif kind == "messageStop":
                    stop = payload.get("stopReason")
                elif kind == "metadata":
                    usage, metrics = payload.get("usage", {}), payload.get("metrics", {})
            text = "".join(pieces)
        else:
            doc = self.json_body
            text = "".join(block.get("text", "") for block in doc["output"]["message"]["content"])
            usage, metrics, stop = doc["usage"], doc["metrics"], doc["stopReason"]
        return {"text": text, "input_tokens": usage["inputTokens"], "output_tokens": usage["outputTokens"],
                "total_tokens": usage.get("totalTokens"), "latency_ms": metrics["latencyMs"], "stop_reason": stop}


def _headers(raw: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, values in (raw or {}).items():
        kept = _KEPT_HEADERS.get(name.lower())
        if kept:
            value = values[0] if isinstance(values, list) else values
            out[kept] = " ".join(_text(value).split())
    return out


def _content_length(raw: dict[str, Any]) -> int | None:
    for name, values in (raw or {}).items():
        if name.lower() == "content-length":
            return int(_text(values[0] if isinstance(values, list) else values))
    return None


def _response_body(response: dict[str, Any]) -> tuple[bytes, bool]:
    declared = _content_length(response.get("headers", {}))
    if "parsed_body" in response:  # pydantic-ai stores JSON bodies parsed: re-serialise as the service does
        data = json.dumps(response["parsed_body"], separators=(",", ":"), ensure_ascii=False).encode()
        return data, declared == len(data)
    raw = response["body"]["string"]
    if isinstance(raw, bytes):  # eventstream, kept as recorded
        return raw, True
    data = raw.encode()
    try:
        compact = json.dumps(json.loads(data), separators=(",", ":"), ensure_ascii=False).encode()
    except ValueError:
        return data, declared == len(data)
    if declared is not None and declared != len(data) and declared == len(compact):
        return compact, True  # a cassette serializer pretty-printed it; compact form has the recorded length
    return data, declared == len(data)


def _recordings_of(path: Path) -> Iterable[Recording]:
    doc = yaml.safe_load(path.read_text())
    for index, interaction in enumerate(doc["interactions"]):
        request, response = interaction["request"], interaction["response"]
        match = _PATH.match(urlsplit(request["uri"]).path)
        assert match, f"{path.name}: not a Converse/ConverseStream request: {request['uri']}"
        body, exact = _response_body(response)
        headers = _headers(response.get("headers", {}))
        headers.setdefault("Content-Type", "application/json")
        yield Recording(
            id=f"{path.stem}#{index}", source=doc["source"], method=request["method"], uri=request["uri"],
            model_id=unquote(match.group("model")), operation=match.group("op"),
            request_body=json.loads(_text(request["body"])), status=int(response["status"]["code"]),
            headers=headers, body=body, body_exact=exact,
        )


def load_recordings(directory: Path = FIXTURES) -> list[Recording]:
    """Every interaction of every fixture, identical repeats within a cassette included."""
    return [rec for path in sorted(directory.glob("*.yaml")) for rec in _recordings_of(path)]


def distinct(recordings: list[Recording]) -> list[Recording]:
    """One recording per distinct (source file, request, response): cassettes that repeat one error five times count once."""
    seen: set[tuple[str, str, str, int, bytes]] = set()
    out = []
    for rec in recordings:
        key = (rec.id.split("#")[0], rec.uri, json.dumps(rec.request_body, sort_keys=True), rec.status, rec.body)
        if key not in seen:
            seen.add(key)
            out.append(rec)
    return out


def by_id(recordings: list[Recording], rec_id: str) -> Recording:
    return next(rec for rec in recordings if rec.id == rec_id)


@dataclass
class ReceivedRequest:
    path: str
    model_id: str
    operation: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class ReplayServer:
    """`with ReplayServer([rec]) as server:` ... `server.url`, `server.requests`."""

    def __init__(self, queue: list[Recording]):
        assert queue, "a replay needs at least one recording"
        self._queue = list(queue)
        self._lock = threading.Lock()
        self.requests: list[ReceivedRequest] = []
        handler = type("ReplayHandler", (_Handler,), {"replay": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name="bedrock-replay", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def next_recording(self, request: ReceivedRequest) -> Recording:
        with self._lock:
            self.requests.append(request)
            return self._queue[min(len(self.requests), len(self._queue)) - 1]

    def __enter__(self) -> "ReplayServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    replay: ReplayServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = _PATH.match(self.path.split("?", 1)[0])
        if not match:
            payload = json.dumps({"message": f"no route {self.path}"}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        received = ReceivedRequest(self.path, unquote(match.group("model")), match.group("op"),
                                   json.loads(raw or b"{}"), dict(self.headers.items()))
        rec = self.replay.next_recording(received)
        self.send_response(rec.status)
        for name, value in rec.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(rec.body)))
        self.end_headers()
        self.wfile.write(rec.body)
