"""A team's own model on a SageMaker real-time endpoint, called with `sagemaker-runtime` InvokeEndpoint.

Bedrock's Converse reaches a SageMaker endpoint only when it is a Bedrock Marketplace deployment (then the
endpoint ARN is the model id and `BedrockClient.converse` is used). A fine-tuned model deployed by the team is
called with InvokeEndpoint and its serving container's payload. Supported payload: `messages`, the
chat-completions API of the Hugging Face TGI and LMI containers (request `messages`, `max_tokens`,
`temperature`, `top_p`; response `choices[0].message.content`, `finish_reason`, `usage.prompt_tokens` /
`completion_tokens`).

The same retry policy as Bedrock applies (ModelError is the container's failure, retried as a model error;
5xx and throttling as transient). InvokeEndpoint reports no model latency in its response (SageMaker publishes
ModelLatency to CloudWatch only), so `latency_ms` is the client's time for the successful attempt, and the row
says so (`raw["latency_source"] = "client"`).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from mangaeval.bedrock import CallResult, ClientSettings, RetryingClient, _boto_client

# TGI / LMI finish reasons -> Converse stop reasons, so results read the same whichever wire a model uses.
FINISH_TO_STOP = {"stop": "end_turn", "eos_token": "end_turn", "length": "max_tokens", "stop_sequence": "stop_sequence",
                  "content_filter": "content_filtered"}


def messages_payload(request: dict[str, Any]) -> dict[str, Any]:
    """A Converse request (system, messages, inferenceConfig) as the containers' chat-completions payload."""
    messages: list[dict[str, str]] = []
    system = "\n".join(block.get("text", "") for block in request.get("system") or [])
    if system:
        messages.append({"role": "system", "content": system})
    for message in request.get("messages") or []:
        messages.append({"role": message["role"], "content": "".join(b.get("text", "") for b in message.get("content") or [])})
    inference = request.get("inferenceConfig") or {}
    payload: dict[str, Any] = {"messages": messages, "max_tokens": inference.get("maxTokens")}
    if "temperature" in inference:
        payload["temperature"] = inference["temperature"]
    if "topP" in inference:
        payload["top_p"] = inference["topP"]
    return payload


def converse_request(payload: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `messages_payload` (the model double reads an InvokeEndpoint body through it)."""
    messages = payload.get("messages") or []
    system = [{"text": m.get("content", "")} for m in messages if m.get("role") == "system"]
    inference = {"maxTokens": payload.get("max_tokens")}
    if "temperature" in payload:
        inference["temperature"] = payload["temperature"]
    if "top_p" in payload:
        inference["topP"] = payload["top_p"]
    return {"system": system,
            "messages": [{"role": m.get("role"), "content": [{"text": m.get("content", "")}]} for m in messages if m.get("role") != "system"],
            "inferenceConfig": {k: v for k, v in inference.items() if v is not None}}


def parse_messages_response(body: bytes) -> tuple[str, int, int, str | None]:
    """(text, prompt tokens, completion tokens, Converse-style stop reason) from a chat-completions response."""
    doc = json.loads(body)
    choice = (doc.get("choices") or [{}])[0]
    usage = doc.get("usage") or {}
    finish = choice.get("finish_reason")
    return (str((choice.get("message") or {}).get("content") or ""), int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)), FINISH_TO_STOP.get(finish, finish))


class SageMakerClient(RetryingClient):
    def __init__(self, settings: ClientSettings | None = None, *, sleep: Callable[[float], None] = time.sleep,
                 seed: int | None = None):
        super().__init__(settings, sleep=sleep, seed=seed)
        self._client = _boto_client("sagemaker-runtime", self.settings, self.settings.sagemaker_endpoint_url)

    @property
    def boto_client(self) -> Any:
        return self._client

    def invoke(self, endpoint_name: str, request: dict[str, Any]) -> CallResult:
        """One InvokeEndpoint call for a Converse-shaped request, with retries."""
        body = json.dumps(messages_payload(request), ensure_ascii=False).encode()
        return self._with_retries(lambda: self._invoke_once(endpoint_name, body))

    def _invoke_once(self, endpoint_name: str, body: bytes) -> CallResult:
        started = time.perf_counter()
        response = self._client.invoke_endpoint(EndpointName=endpoint_name, ContentType="application/json",
                                                Accept="application/json", Body=body)
        payload = response["Body"].read()
        latency_ms = round((time.perf_counter() - started) * 1000.0)
        text, input_tokens, output_tokens, stop_reason = parse_messages_response(payload)
        return CallResult(status="ok", text=text, input_tokens=input_tokens, output_tokens=output_tokens,
                          latency_ms=max(latency_ms, 1), stop_reason=stop_reason,
                          raw={"usage": {"inputTokens": input_tokens, "outputTokens": output_tokens}, "latency_source": "client"})
