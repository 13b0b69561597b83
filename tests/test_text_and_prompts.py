from __future__ import annotations

from mangaeval.models import load_configurations
from mangaeval.prompts import build_request, parse_request
from mangaeval.text import detect_language, estimate_tokens


def test_language_detected_by_script():
    assert detect_language("ワンピースの最新刊はいくらですか?") == "ja"
    assert detect_language("How much is One Piece volume 110?") == "en"
    assert detect_language("One Piece 110巻はいくら?") == "ja"  # mixed script, Japanese question
    assert detect_language("") == "en"


def test_token_estimate():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("こんにちは") == 5


def test_request_round_trip(starter):
    config = load_configurations()["sonnet-3-5-v2"]
    case = next(c for c in starter.cases if c.history)
    request = build_request(config, case)
    assert [m["role"] for m in request["messages"]] == ["user", "assistant", "user"]
    assert request["inferenceConfig"] == {"maxTokens": 1024, "temperature": 0.3, "topP": 0.9}
    seen = parse_request(request)
    assert seen["intent"] == case.intent and seen["query"] == case.query and seen["grounding"] == case.grounding
