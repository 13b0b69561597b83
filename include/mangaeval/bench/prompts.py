"""The benchmark's standard prompts: the ten English/Japanese queries of the team's design document, plus golden
cases sampled across intents in proportion to the traffic mix (intents.yaml), so cost per query is weighted as
production's traffic is."""

from __future__ import annotations

from dataclasses import dataclass

from mangaeval.golden import DEFAULT_VERSION, GoldenCase, load_dataset, sample_cases
from mangaeval.intents import load_intents

# (query, language, intent): the design document's benchmark prompts, each labelled with the intent it would be
# classified into (what its prompt is built for).
STANDARD_QUERIES = (
    ("おすすめのアクションマンガを教えてください", "ja", "recommendation"),
    ("進撃の巨人の1巻はありますか?", "ja", "product_question"),
    ("注文番号MNG-2024-78432の配送状況を教えてください", "ja", "order_tracking"),
    ("What are the top selling manga this week?", "en", "recommendation"),
    ("鬼滅の刃の全巻セットの価格は?", "ja", "product_question"),
    ("Do you have any manga by 手塚治虫?", "en", "product_question"),
    ("新刊コミックの入荷予定を教えてください", "ja", "faq"),
    ("Can you recommend manga similar to One Piece?", "en", "recommendation"),
    ("漫画のギフトラッピングはできますか?", "ja", "faq"),
    ("What genres of manga do you carry?", "en", "faq"),
)


@dataclass(frozen=True)
class BenchPrompt:
    case: GoldenCase
    source: str  # "standard" | "golden"


def standard_cases() -> list[GoldenCase]:
    """The ten queries as cases without grounding (the chain still builds, calls and scores them)."""
    return [GoldenCase(test_id=f"bench-std-{i:02d}", intent=intent, language=lang, query=query, page_context={}, history=[],
                       grounding={}, expected={"must_contain": [], "must_not_contain": [], "reference_answer": ""})
            for i, (query, lang, intent) in enumerate(STANDARD_QUERIES, 1)]


def golden_counts(total: int) -> dict[str, int]:
    """`total` golden cases split over intents by traffic share (largest remainder), at least one each."""
    intents = load_intents()
    total = max(total, len(intents))
    raw = {name: i.traffic_share * total for name, i in intents.items()}
    counts = {name: max(1, int(v)) for name, v in raw.items()}
    for name in sorted(raw, key=lambda n: raw[n] - int(raw[n]), reverse=True):
        if sum(counts.values()) >= total:
            break
        counts[name] += 1
    return counts


def prompt_set(requests: int, dataset: str = DEFAULT_VERSION, seed: int = 0) -> list[BenchPrompt]:
    """`requests` prompts: the ten standard ones, then golden cases (seeded, stratified sample within each intent)."""
    prompts = [BenchPrompt(c, "standard") for c in standard_cases()][:requests]
    if requests > len(prompts):
        by_intent = load_dataset(dataset).by_intent()
        for intent, k in golden_counts(requests - len(prompts)).items():
            prompts += [BenchPrompt(c, "golden") for c in sample_cases(by_intent.get(intent, []), k, seed)]
    return prompts[:max(requests, 0)] if len(prompts) > requests else prompts
