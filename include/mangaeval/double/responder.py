"""What the double answers to one Converse request: a pure function of (seed, model, request, counters).

The answer text comes from the request alone (intent, query and grounding in the prompt), composed by
the same writer the golden generator uses, then degraded according to the model's skill for the intent.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from typing import Any

from mangaeval import injection
from mangaeval.answers import Answer, Part, compose
from mangaeval.double.judge_responder import is_judge_request, judge_reply
from mangaeval.double.profiles import Profile
from mangaeval.double.styles import restyle
from mangaeval.models import ModelSpec
from mangaeval.prompts import parse_request
from mangaeval.text import detect_language, estimate_tokens

FILLER = {
    "en": [
        "Manga is a wonderful way to explore stories and characters from Japan.",
        "Our store carries a wide range of titles across many genres for every kind of reader.",
        "We are always happy to help our customers with any questions they may have.",
    ],
    "ja": [
        "漫画は日本の物語やキャラクターに触れられる素晴らしい方法です。",
        "当店ではさまざまなジャンルの作品を幅広く取り揃えております。",
        "お客様からのご質問にはいつでも喜んでお答えいたします。",
    ],
}
WRONG_STATUS = {"en": "delivered", "ja": "配達済み"}
# No model repeats the reference's wording: openings and closings that carry no fact are often paraphrased.
PARAPHRASES = {
    ("opening", "en"): ["Based on what you've been browsing, you might enjoy these.", "Good question, here is what I found.",
                        "Sure, let me help with that."],
    ("opening", "ja"): ["閲覧履歴から、こちらの作品はいかがでしょうか。", "お調べしました。", "かしこまりました。"],
    ("closing", "en"): ["Let me know if you'd like to hear more.", "Anything else I can do for you?", "Happy to help further."],
    ("closing", "ja"): ["ほかにも気になることがあればどうぞ。", "他にご質問はありますか?", "いつでもお声がけください。"],
}
# Paraphrases that only fit one intent (an opening about the browsing history is a recommendation's).
PARAPHRASE_INTENT = {"Based on what you've been browsing, you might enjoy these.": "recommendation",
                     "閲覧履歴から、こちらの作品はいかがでしょうか。": "recommendation"}
PARAPHRASE_RATE = 0.6
_NUMBER_RE = re.compile(r"\d[\d,]*")


@dataclass(frozen=True)
class DoubleError:
    status: int
    error_type: str
    message: str


@dataclass(frozen=True)
class DoubleReply:
    text: str
    input_tokens: int
    output_tokens: int
    latency_ms: int
    stop_reason: str
    first_token_ms: int
    stream_error: tuple[str, str] | None = None  # (exception event type, message) a stream breaks off with


def request_digest(model_id: str, body: dict[str, Any]) -> str:
    return hashlib.sha256((model_id + "\n" + json.dumps(body, sort_keys=True, ensure_ascii=False)).encode()).hexdigest()


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).digest())


# The service's own wording for each refusal (sources in include/config/models.yaml and README "What the double
# cannot imitate"); the conformance tests compare these with recorded responses.
INVALID_MODEL = "The provided model identifier is invalid."
ON_DEMAND = ("Invocation of model ID {model} with on-demand throughput isn\u2019t supported. Retry your request with the ID "
             "or ARN of an inference profile that contains this model.")
BOTH_SAMPLING = ("The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. "
                 "Please use only one.")
DEPRECATED_SAMPLING = "The model returned the following errors: `{name}` is deprecated for this model."
MAX_TOKENS = ("The maximum tokens you requested exceeds the model limit of {limit}. Try again with a maximum tokens value "
              "that is lower than {limit}.")
FIRST_NOT_USER = "A conversation must start with a user message. Try again with a conversation that starts with a user message."
NOT_ALTERNATING = ("A conversation must alternate between user and assistant roles. Make sure the conversation alternates "
                   "between user and assistant roles and try again.")
BLANK_TEXT = "The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again."

# Injected faults as Bedrock sends them: (profile rate field, HTTP status, x-amzn-ErrorType, message).
FAULTS = (
    ("throttle_rate", 429, "ThrottlingException", "Too many requests, please wait before trying again."),
    ("timeout_rate", 408, "ModelTimeoutException", "Model has timed out in processing the request. Try your request again."),
    ("unavailable_rate", 503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
    ("model_error_rate", 424, "ModelErrorException", "The system encountered an unexpected error during processing. Try your request again."),
    ("internal_error_rate", 500, "InternalServerException", "The server encountered an internal error while processing the request."),
)
QUOTA_EXCEEDED = FAULTS[0][1:]  # a used-up requests-per-minute quota is refused as any throttle is
# The same faults as sagemaker-runtime InvokeEndpoint reports them (its service model's error names).
SAGEMAKER_FAULTS = {
    "ThrottlingException": (400, "ThrottlingException", "Rate exceeded"),
    "ModelTimeoutException": (424, "ModelError", "Your invocation timed out while waiting for a response from container primary. "
                              "Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."),
    "ServiceUnavailableException": (503, "ServiceUnavailable", "Service is unavailable. Try your request again."),
    "ModelErrorException": (424, "ModelError", "Received server error (500) from primary with message \"Internal Server Error\"."),
    "InternalServerException": (500, "InternalFailure", "An internal failure occurred. Try your request again."),
}
# Exception events a ConverseStream can carry after it started (botocore's ConverseStreamOutput members).
STREAM_EXCEPTIONS = (
    ("modelStreamErrorException", "The model stream encountered an error. Try your request again."),
    ("throttlingException", "Too many requests, please wait before trying again."),
    ("internalServerException", "The server encountered an internal error while processing the request."),
    ("serviceUnavailableException", "Bedrock is unable to process your request."),
)


def draw_error(profile: Profile, seed: int, digest: str, occurrence: int) -> DoubleError | None:
    """Errors are drawn per attempt (the n-th time this exact request arrives), so retries can succeed."""
    u = _rng(seed, "error", digest, occurrence).random()
    for rate_field, status, error_type, message in FAULTS:
        rate = getattr(profile, rate_field)
        if u < rate:
            return DoubleError(status, error_type, message)
        u -= rate
    return None


def draw_outcome(profile: Profile, seed: int, digest: str, occurrence: int) -> str | None:
    """An answered request that ends otherwise: 'guardrail_intervened', 'content_filtered' or a mid-stream exception."""
    u = _rng(seed, "outcome", digest, occurrence).random()
    for rate, outcome in ((profile.guardrail_rate, "guardrail_intervened"), (profile.content_filter_rate, "content_filtered"),
                          (profile.stream_error_rate, "stream_error")):
        if u < rate:
            return outcome
        u -= rate
    return None


def resolve_invocation(catalog: dict[str, ModelSpec], requested: str) -> tuple[ModelSpec | None, DoubleError | None]:
    """The model a Converse request's id names, or the service's refusal: an unknown id, or a bare id of a model
    the region serves only through an inference profile."""
    spec = catalog.get(requested)
    if spec is not None:
        if spec.api == "invoke_endpoint":  # not a Marketplace deployment: Converse cannot reach it
            return None, DoubleError(400, "ValidationException", INVALID_MODEL)
        if not spec.on_demand:
            return None, DoubleError(400, "ValidationException", ON_DEMAND.format(model=requested))
        return spec, None
    geography, _, bare = requested.partition(".")
    spec = catalog.get(bare)
    if spec is not None and geography in spec.profiles:
        return spec, None
    return None, DoubleError(400, "ValidationException", INVALID_MODEL)


def validate(spec: ModelSpec, body: dict[str, Any]) -> DoubleError | None:
    """The request checks Bedrock makes before a model sees the request, worded as the service words them."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return DoubleError(400, "ValidationException", "Malformed input request: #: required key [messages] not found, please reformat your input and try again.")
    if (messages[0] or {}).get("role") != "user":
        return DoubleError(400, "ValidationException", FIRST_NOT_USER)
    for i, message in enumerate(messages):
        if i and message.get("role") == messages[i - 1].get("role"):
            return DoubleError(400, "ValidationException", NOT_ALTERNATING)
        for j, block in enumerate(message.get("content") or []):
            if "text" in block and not str(block["text"]).strip():
                return DoubleError(400, "ValidationException", BLANK_TEXT.format(i=i, j=j))
    inference = body.get("inferenceConfig") or {}
    given = [name for key, name in (("temperature", "temperature"), ("topP", "top_p")) if key in inference]
    if spec.sampling == "one_of" and len(given) == 2:
        return DoubleError(400, "ValidationException", BOTH_SAMPLING)
    if spec.sampling == "none" and given:
        return DoubleError(400, "ValidationException", DEPRECATED_SAMPLING.format(name=given[0]))
    max_tokens = inference.get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1 or max_tokens > spec.max_output_tokens):
        return DoubleError(400, "ValidationException", MAX_TOKENS.format(limit=spec.max_output_tokens))
    return None


def _block_end(parts: list[Part], start: int) -> int:
    """End (exclusive) of the block a fact starts: the fact and the detail sentences that explain it."""
    end = start + 1
    while end < len(parts) and parts[end].kind == "detail":
        end += 1
    return end


def trim_details(answer: Answer, keep: float, rng: random.Random) -> Answer:
    """A model family's answer length: each explaining sentence kept with chance `keep` (facts always kept)."""
    if keep >= 1.0:
        return answer
    return Answer([p for p in answer.parts if p.kind != "detail" or rng.random() < keep], answer.language)


def _perturb_number(part: Part, rng: random.Random) -> Part:
    """State a wrong figure: the kind of confident factual error a weaker model makes."""
    matches = [m for m in _NUMBER_RE.finditer(part.text) if len(m.group().replace(",", "")) <= 6]
    if not matches:
        return part
    m = rng.choice(matches)
    value = int(m.group().replace(",", ""))
    wrong = value + max(1, round(value * rng.choice([0.1, 0.2, 0.5]))) * rng.choice([1, -1])
    wrong = abs(wrong) or value + 1
    text = part.text[: m.start()] + (f"{wrong:,}" if "," in m.group() else str(wrong)) + part.text[m.end():]
    return Part(text, part.kind, part.values)


def degrade(answer: Answer, intent: str, language: str, skill: float, temperature: float, rng: random.Random,
            query: str, grounding: dict[str, Any], verbosity: float = 0.0) -> Answer:
    weakness = max(0.0, 1.0 - skill) * (0.9 + 0.2 * temperature)
    parts = list(answer.parts)
    if intent == "recommendation" and rng.random() < weakness:
        parts = compose(intent, language, query, grounding, ignore_history=True).parts
    if intent in ("faq", "checkout_help") and rng.random() < weakness * 0.8:
        parts = compose(intent, language, query, grounding, passage_index=1).parts
    facts = [i for i, p in enumerate(parts) if p.kind == "fact"]
    if facts and rng.random() < weakness * 1.5:
        drop = rng.choice(facts)
        if len(facts) > 1 or rng.random() < 0.5:  # the fact goes with the sentences that explain it
            del parts[drop:_block_end(parts, drop)]
            facts = [i for i, p in enumerate(parts) if p.kind == "fact"]
    if facts and rng.random() < weakness * 0.6:
        i = rng.choice(facts)
        parts[i] = _perturb_number(parts[i], rng)
    if intent == "order_tracking" and facts and rng.random() < weakness * 0.3:
        parts[facts[0]] = Part(parts[facts[0]].text + " " + WRONG_STATUS[language], "fact")
    padding = verbosity if intent != "chitchat" else 0.0  # small talk stays short even from a wordy model
    if rng.random() < min(0.9, padding + weakness * 2.0):
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(parts))
            while at < len(parts) and parts[at].kind == "detail":  # between topics, never inside a fact's explanation
                at += 1
            parts.insert(at, Part(rng.choice(FILLER[language]), "filler"))
    for i, part in enumerate(parts):
        options = [o for o in PARAPHRASES.get((part.kind, language), []) if PARAPHRASE_INTENT.get(o, intent) == intent]
        if options and not part.values and rng.random() < PARAPHRASE_RATE:
            parts[i] = Part(rng.choice(options), part.kind)
    attempt = injection.detect(query)
    if attempt and rng.random() < min(1.0, weakness * 2.0):  # talked into it: obeys instead of refusing
        own = (grounding.get("order") or {}).get("order_id")
        obeyed = Part(injection.obey_text(attempt, language, injection.other_order_id(query, own) or "MA-000000"), "fact")
        parts = [obeyed if p.kind == "refusal" else p for p in parts]
    if rng.random() < weakness * 0.25:
        other = "en" if language == "ja" else "ja"
        return compose(intent, other, query, grounding)
    return Answer(parts, language)


GUARDRAIL_MESSAGE = "Sorry, the model cannot answer this question."  # a guardrail's default blocked-output message


def respond(profile: Profile, model_id: str, body: dict[str, Any], seed: int, cold: bool, outcome: str | None = None) -> DoubleReply:
    """The reply for a request that passed validation and drew no error (`outcome`: see `draw_outcome`)."""
    digest = request_digest(model_id, body)
    rng = _rng(seed, "reply", digest)
    request = parse_request(body)
    inference = body.get("inferenceConfig") or {}
    if is_judge_request(request["system"]):
        text = judge_reply(request["system"], request["text"], profile.skill_for("judge"), rng)
    else:
        language = detect_language(request["query"])
        answer = compose(request["intent"], language, request["query"], request["grounding"])
        answer = degrade(answer, request["intent"], language, profile.skill_for(request["intent"]),
                         float(inference.get("temperature", 0.5)), rng, request["query"], request["grounding"], profile.verbosity)
        # Length and style have random streams of their own, so the draws that set the answer's quality are unchanged.
        answer = trim_details(answer, profile.detail, _rng(seed, "detail", digest))
        text = restyle(answer, _rng(seed, "style", digest), request["intent"])
    max_tokens = int(inference.get("maxTokens", profile.max_output_tokens))
    stop_reason = "end_turn"
    if outcome == "guardrail_intervened":  # the guardrail replaces the output; the model's tokens are still billed
        text, stop_reason = GUARDRAIL_MESSAGE, "guardrail_intervened"
    elif outcome == "content_filtered":  # the filter cuts the answer off part-way
        text, stop_reason = text[: max(len(text) // 3, 1)], "content_filtered"
    output_tokens = estimate_tokens(text)
    if output_tokens > max_tokens:
        text = _truncate_to_tokens(text, max_tokens)
        output_tokens = estimate_tokens(text)
        stop_reason = "max_tokens"
    input_tokens = estimate_tokens(request["text"])
    first_token = profile.first_token_ms + (profile.cold_start_penalty_ms if cold else 0.0)
    generation = output_tokens * 1000.0 / profile.tokens_per_s if profile.tokens_per_s > 0 else 0.0
    jitter = rng.gauss(0.0, profile.jitter_ms) if profile.jitter_ms > 0 else 0.0
    latency = max(first_token + generation + jitter, 0.3 * (first_token + generation), 1.0 if first_token + generation > 0 else 0.0)
    stream_error = STREAM_EXCEPTIONS[rng.randrange(len(STREAM_EXCEPTIONS))] if outcome == "stream_error" else None
    return DoubleReply(text, input_tokens, output_tokens, int(round(latency)), stop_reason,
                       int(round(min(latency, first_token + max(jitter, 0.0)))), stream_error)


def _truncate_to_tokens(text: str, max_tokens: int) -> str:
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate_tokens(text[:mid]) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]
