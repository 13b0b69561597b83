"""Amazon Bedrock Runtime client on boto3's Converse API, with the retry policy evaluation needs.

The same code talks to AWS or to the model double: only `endpoint_url` (and region) differ, taken
from settings, the environment (AWS_ENDPOINT_URL_BEDROCK_RUNTIME is honoured by botocore itself) or
an Airflow connection.

Retries are ours, not botocore's: botocore's standard mode draws on a retry quota that runs dry under
sustained throttling (an evaluation of thousands of calls would then fail calls it could have ridden
out), and it never retries ModelTimeoutException / ModelErrorException. We retry throttling, 5xx and
connection errors up to `max_attempts`, model timeouts/errors up to `model_error_attempts`, with
full-jitter exponential backoff; everything else (validation, access) fails at once.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    EventStreamError,
    ReadTimeoutError,
)

THROTTLING_CODES = {"ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException"}
# sagemaker-runtime names its errors differently: InternalFailure / ServiceUnavailable (5xx), ModelError (424: the
# serving container failed), ModelNotReadyException (429).
SERVER_CODES = {"ServiceUnavailableException", "InternalServerException", "InternalFailure", "ServiceUnavailable"}
MODEL_CODES = {"ModelTimeoutException", "ModelErrorException", "ModelNotReadyException", "ModelStreamErrorException", "ModelError"}
CONNECTION_ERRORS = (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError)


@dataclass(frozen=True)
class ClientSettings:
    endpoint_url: str | None = None
    region: str = "us-east-1"
    # Long answers from Sonnet-class models can take well over botocore's 60 s default read timeout.
    read_timeout_s: float = 300.0
    connect_timeout_s: float = 5.0
    max_attempts: int = 6
    model_error_attempts: int = 3
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 20.0
    max_pool_connections: int = 64

    # sagemaker-runtime (a team's own endpoint called with InvokeEndpoint); None = the AWS default for the region.
    sagemaker_endpoint_url: str | None = None

    @classmethod
    def from_env(cls, **overrides: Any) -> "ClientSettings":
        env = os.environ
        values: dict[str, Any] = {
            "endpoint_url": env.get("MANGAEVAL_BEDROCK_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME") or None,
            "sagemaker_endpoint_url": env.get("MANGAEVAL_SAGEMAKER_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME") or None,
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass
class CallResult:
    status: str  # "ok" | "error"
    text: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: int | None = None  # service-reported (metrics.latencyMs)
    wall_ms: float = 0.0  # client wall time for the whole call, retries and backoff included
    stop_reason: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 0
    throttles: int = 0  # attempts the service refused for quota (ThrottlingException ...), retried or not
    first_token_ms: float | None = None  # streaming only: client time from sending the (last) attempt to its first text
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def _boto_client(service: str, settings: ClientSettings, endpoint_url: str | None) -> Any:
    """A boto3 client with our timeouts, our retries (none of botocore's) and a pool sized for the engine: inside a
    DAG task through its Airflow AWS connection (credentials, region, endpoints), else from boto3's default chain
    in `settings.region` (mangaeval.aws; a local double without credentials gets throwaway ones)."""
    from mangaeval.aws import task_client

    return task_client(service, region=settings.region, endpoint_url=endpoint_url, config=botocore_config(settings))


def botocore_config(settings: ClientSettings) -> Config:
    return Config(
        read_timeout=settings.read_timeout_s,
        connect_timeout=settings.connect_timeout_s,
        retries={"total_max_attempts": 1, "mode": "standard"},  # retries are ours, see module doc
        max_pool_connections=settings.max_pool_connections,
    )


class RetryingClient:
    """Our retry policy around one call that returns a CallResult or raises a botocore error (thread-safe)."""

    def __init__(self, settings: ClientSettings | None = None, *, sleep: Callable[[float], None] = time.sleep,
                 seed: int | None = None):
        self.settings = settings or ClientSettings.from_env()
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()

    def _backoff(self, retry_number: int) -> float:
        with self._rng_lock:
            return self._rng.uniform(0, min(self.settings.backoff_cap_s, self.settings.backoff_base_s * 2 ** retry_number))

    def _classify(self, exc: Exception) -> tuple[str, str, str]:
        """(error_code, message, retry_class) where retry_class is 'transient', 'model' or 'fatal'."""
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code") or "ClientError"
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            message = error.get("Message") or str(exc)
            if code in THROTTLING_CODES or code in SERVER_CODES or status >= 500:
                return code, message, "transient"
            if code in MODEL_CODES:
                return code, message, "model"
            return code, message, "fatal"
        if isinstance(exc, CONNECTION_ERRORS):
            return type(exc).__name__, str(exc), "transient"
        return type(exc).__name__, str(exc), "fatal"

    def _with_retries(self, call: Callable[[], CallResult]) -> CallResult:
        """One model call with retries. Never raises for a model/service failure: returns an error result."""
        start = time.perf_counter()
        attempts = transient_failures = model_failures = throttles = 0
        while True:
            attempts += 1
            try:
                result = call()
                result.attempts, result.throttles = attempts, throttles
                result.wall_ms = (time.perf_counter() - start) * 1000.0
                return result
            except Exception as exc:  # classified below; unknown errors are fatal, never retried blindly
                code, message, retry_class = self._classify(exc)
            throttles += code in THROTTLING_CODES
            if retry_class == "transient":
                transient_failures += 1
                can_retry = transient_failures < self.settings.max_attempts
            elif retry_class == "model":
                model_failures += 1
                can_retry = model_failures < self.settings.model_error_attempts
            else:
                can_retry = False
            if not can_retry:
                return CallResult(status="error", error_code=code, error_message=message, attempts=attempts, throttles=throttles,
                                  wall_ms=(time.perf_counter() - start) * 1000.0)
            self._sleep(self._backoff(attempts - 1))


class BedrockClient(RetryingClient):
    """Thread-safe wrapper around a `bedrock-runtime` client (boto3 clients are thread-safe)."""

    def __init__(self, settings: ClientSettings | None = None, *, sleep: Callable[[float], None] = time.sleep,
                 seed: int | None = None, boto_client: Any = None):
        """`boto_client`: a `bedrock-runtime` client built elsewhere; by default _boto_client's."""
        super().__init__(settings, sleep=sleep, seed=seed)
        self._client = boto_client if boto_client is not None else _boto_client("bedrock-runtime", self.settings, self.settings.endpoint_url)

    @property
    def boto_client(self) -> Any:
        return self._client

    def converse(self, model_id: str, request: dict[str, Any], *, stream: bool = False) -> CallResult:
        """One Converse call to `model_id` (a model id, an inference profile or an endpoint ARN), with retries."""
        return self._with_retries(lambda: self._stream_once(model_id, request) if stream else self._converse_once(model_id, request))

    def _converse_once(self, model_id: str, request: dict[str, Any]) -> CallResult:
        response = self._client.converse(modelId=model_id, **request)
        content = response.get("output", {}).get("message", {}).get("content", [])
        usage = response.get("usage", {})
        return CallResult(
            status="ok",
            text="".join(block.get("text", "") for block in content),
            input_tokens=int(usage.get("inputTokens", 0)),
            output_tokens=int(usage.get("outputTokens", 0)),
            latency_ms=int(response.get("metrics", {}).get("latencyMs", 0)),
            stop_reason=response.get("stopReason"),
            raw={"usage": usage},
        )

    def _stream_once(self, model_id: str, request: dict[str, Any]) -> CallResult:
        start = time.perf_counter()
        first_token_ms = None
        response = self._client.converse_stream(modelId=model_id, **request)
        pieces: list[str] = []
        usage: dict[str, Any] = {}
        metrics: dict[str, Any] = {}
        stop_reason = None
        try:
            for event in response["stream"]:
                if "contentBlockDelta" in event:
                    if first_token_ms is None:
                        first_token_ms = (time.perf_counter() - start) * 1000.0
                    pieces.append(event["contentBlockDelta"]["delta"].get("text", ""))
                elif "messageStop" in event:
                    stop_reason = event["messageStop"].get("stopReason")
                elif "metadata" in event:
                    usage = event["metadata"].get("usage", {})
                    metrics = event["metadata"].get("metrics", {})
        except EventStreamError as exc:  # an exception event mid-stream: same shape as a ClientError
            error = dict(exc.response.get("Error", {}))
            code = error.get("Code") or "ModelStreamErrorException"
            error["Code"] = code[:1].upper() + code[1:]  # event members are camelCase (throttlingException): the class name
            raise ClientError({**exc.response, "Error": error}, "ConverseStream") from exc
        if not usage:
            raise ClientError({"Error": {"Code": "ModelStreamErrorException", "Message": "stream ended without metadata"}},
                              "ConverseStream")
        return CallResult(
            status="ok",
            text="".join(pieces),
            input_tokens=int(usage.get("inputTokens", 0)),
            output_tokens=int(usage.get("outputTokens", 0)),
            latency_ms=int(metrics.get("latencyMs", 0)),
            stop_reason=stop_reason,
            first_token_ms=first_token_ms,
            raw={"usage": usage},
        )
