"""Reproducible generator of golden datasets from the store's own data (include/store_data/).

`python -m mangaeval.golden_generator --version v0 --per-intent 30` rewrites
include/golden_datasets/v0/ byte for byte the same for the same arguments.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any, Callable

from mangaeval import store
from mangaeval.answers import STATUS_WORDS, applicable_promotions, compose, rank_candidates
from mangaeval.golden import MANIFEST_NAME, GoldenCase, build_manifest
from mangaeval.intents import intent_names
from mangaeval.paths import GOLDEN_DIR

REFERENCE_DATE = "2026-11-20"
JA_SHARE_MODULUS = (20, 7)  # 7 in every 20 cases are Japanese (35%)

GREETING = {
    "en": [("Hi there", "Hello! How can I help you today?")],
    "ja": [("こんにちは", "こんにちは!何かお手伝いできることはありますか?")],
}

FAQ_QUERIES: dict[str, dict[str, list[str]]] = {
    "shipping-domestic": {"en": ["How much is shipping?", "When do I get free shipping?", "How long does standard delivery take?"],
                          "ja": ["送料はいくらですか?", "送料無料になるのはいくらからですか?"]},
    "shipping-express": {"en": ["Do you have express delivery?", "Can I get my order tomorrow?"], "ja": ["お急ぎ便はありますか?"]},
    "shipping-international": {"en": ["Do you ship overseas? How much does it cost?"], "ja": ["海外発送はできますか?"]},
    "returns-window": {"en": ["What's your return policy?", "How long do I have to return something?"], "ja": ["返品はできますか?", "返品の期限はいつまでですか?"]},
    "returns-exclusions": {"en": ["Can I return a digital code?"], "ja": ["デジタルコードは返品できますか?"]},
    "preorders": {"en": ["When am I charged for a pre-order?"], "ja": ["予約商品の支払いはいつですか?"]},
    "points": {"en": ["How do points work?", "How many points do I earn?"], "ja": ["ポイントはどのくらい貯まりますか?"]},
}
CHECKOUT_QUERIES: dict[str, dict[str, list[str]]] = {
    "payment-methods": {"en": ["Which payment methods do you accept?", "Can I pay with JCB or PayPay?"], "ja": ["支払い方法は何がありますか?"]},
    "payment-konbini": {"en": ["How long do I have to pay at the konbini?"], "ja": ["コンビニ払いの期限はいつまでですか?"]},
    "payment-cod": {"en": ["Can I pay cash on delivery?"], "ja": ["代引きは使えますか?"]},
    "gift-wrapping": {"en": ["How do I add gift wrapping at checkout?", "Can you gift wrap my order?"], "ja": ["注文時にギフト包装を付けられますか?"]},
}
UNANSWERABLE = {
    "en": ["Do you deliver by drone to Antarctica?", "Can I pay in Bitcoin?"],
    "ja": ["ドローンで南極に配達できますか?", "ビットコインで支払えますか?"],
}
PRODUCT_QUERIES = {
    "price": {"en": ["How much is {title} volume {vol}?", "What's the price of {title} vol. {vol}?"], "ja": ["{title} {vol}巻はいくらですか?", "{title}の{vol}巻の値段を教えてください。"]},
    "availability": {"en": ["Is {title} volume {vol} in stock?"], "ja": ["{title}の{vol}巻は在庫ありますか?"]},
    "isbn": {"en": ["What's the ISBN for {title} volume {vol}?"], "ja": ["{title} {vol}巻のISBNを教えてください。"]},
    "volumes": {"en": ["How many volumes are there of {title}?"], "ja": ["{title}は全何巻ですか?"]},
    "author": {"en": ["Who wrote {title}?"], "ja": ["{title}の作者は誰ですか?"]},
}
RECOMMENDATION_QUERIES = {
    "en": ["Can you recommend something like what I've been reading?", "What should I read next?", "I need a new manga to read, any suggestions?"],
    "ja": ["次に読む漫画のおすすめはありますか?", "最近見ていた作品に似た漫画を教えてください。"],
}
ORDER_QUERIES = {
    "en": ["Where is my order {id}?", "Has order {id} shipped yet?", "When will my order {id} arrive?"],
    "ja": ["注文{id}はいつ届きますか?", "注文{id}の配送状況を教えてください。"],
}
PROMOTION_QUERIES = {
    "en": ["Are there any discounts on {title}?", "Any coupon codes I can use for {title}?"],
    "ja": ["{title}に使えるクーポンはありますか?", "{title}のセールはありますか?"],
}
CHITCHAT_QUERIES = {
    "en": ["Hi!", "Hello there", "Thanks so much!", "thank you, that helped", "bye!", "good night"],
    "ja": ["こんにちは", "ありがとうございます!", "またね", "おやすみなさい"],
}
RETURN_QUERIES = {
    "damaged": {"en": ["My copy of {title} vol {vol} from order {id} arrived with a torn cover. Can I return it?"],
                "ja": ["注文{id}の{title} {vol}巻が破れて届きました。返品できますか?"]},
    "changed_mind": {"en": ["I'd like to return {title} vol {vol} from order {id}, I changed my mind."],
                     "ja": ["注文{id}の{title} {vol}巻を返品したいです。"]},
}
CARRIERS = ["Yamato Transport", "Sagawa Express", "Japan Post"]


def _policy(policy_id: str) -> dict[str, Any]:
    return next(p for p in store.policies() if p["id"] == policy_id)


def _passages(rng: random.Random, primary: str | None, pool: list[str]) -> list[dict[str, Any]]:
    """Retriever output: the relevant passage first (if any), then distractors with lower scores."""
    others = [p for p in pool if p != primary]
    chosen = rng.sample(others, k=min(len(others), rng.randint(2, 4)))
    result = []
    if primary:
        result.append({**_policy(primary), "score": round(rng.uniform(0.78, 0.95), 2)})
    for pid in chosen:
        result.append({**_policy(pid), "score": round(rng.uniform(0.2, 0.45), 2)})
    return result


def _order(rng: random.Random, status: str, series: store.Series, volume: int) -> dict[str, Any]:
    day = rng.randint(10, 19)
    order = {
        "order_id": f"MA-{rng.randint(100000, 999999)}",
        "status": status,
        "carrier": rng.choice(CARRIERS),
        "tracking_number": f"{rng.randint(10**11, 10**12 - 1)}",
        "ordered_at": f"2026-11-{day:02d}",
        "estimated_delivery": f"2026-11-{day + rng.randint(3, 6):02d}",
        "items": [{"title_en": series.title_en, "title_ja": series.title_ja, "volume": volume, "quantity": 1, "price_jpy": series.price_jpy}],
    }
    if status == "delivered":
        order["delivered_at"] = f"2026-11-{day + 2:02d}"
    return order


def gen_product_question(rng: random.Random, language: str) -> dict[str, Any]:
    series = rng.choice(list(store.catalog().values()))
    focus = rng.choice(list(PRODUCT_QUERIES))
    vol = 1 if focus in ("volumes", "author") else rng.randint(1, series.volumes)
    record = store.product_record(series, vol)
    title = series.title(language)
    query = rng.choice(PRODUCT_QUERIES[focus][language]).format(title=title, vol=vol)
    values = {
        "price": store.yen(series.price_jpy),
        "availability": None,
        "isbn": record["isbn"],
        "volumes": str(series.volumes),
        "author": series.author(language),
    }
    from mangaeval.answers import AVAILABILITY_WORDS

    words = AVAILABILITY_WORDS[language]
    must = [title, values[focus] or words[record["availability"]]]
    must_not = [w for k, w in words.items() if k != record["availability"] and w not in words[record["availability"]]] if focus == "availability" else []
    return {"query": query, "page_context": {"page": "product", "series_id": series.id, "volume": vol},
            "grounding": {"products": [record]}, "must_contain": must, "must_not_contain": must_not, "tags": [f"focus:{focus}"]}


def gen_recommendation(rng: random.Random, language: str) -> dict[str, Any]:
    catalog = list(store.catalog().values())
    while True:
        anchor = rng.choice(catalog)
        genre = rng.choice(anchor.genres)
        fans = [s for s in catalog if genre in s.genres and s.id != anchor.id]
        if len(fans) < 2:
            continue
        history_series = [anchor, rng.choice(fans)]
        liked = {g for s in history_series for g in s.genres}
        pool = [s for s in fans if s not in history_series]
        if not pool:
            continue
        best = rng.choice(pool)
        unrelated = [s for s in catalog if not liked & set(s.genres) and s not in history_series]
        if len(unrelated) < 4:
            continue
        candidates = [store.series_record(s) for s in rng.sample(unrelated, 4)]
        candidates.insert(rng.randint(2, 4), store.series_record(best))
        grounding = {"browsing_history": [store.series_record(s) for s in history_series], "candidates": candidates}
        ranked = rank_candidates(grounding)
        if ranked[0]["series_id"] == best.id:
            break
    query = rng.choice(RECOMMENDATION_QUERIES[language])
    second = ranked[1]
    return {"query": query, "page_context": {"page": "home", "recently_viewed": [s.id for s in history_series]},
            "grounding": grounding, "must_contain": [best.title(language)], "must_not_contain": [],
            "tags": [f"genre:{genre}"], "_extra_titles": [second]}


def _passage_case(rng: random.Random, language: str, queries: dict[str, dict[str, list[str]]], pool: list[str]) -> dict[str, Any]:
    if rng.random() < 0.08:
        query = rng.choice(UNANSWERABLE[language])
        passages = _passages(rng, None, pool)
        return {"query": query, "page_context": {"page": "help"}, "grounding": {"passages": passages},
                "must_contain": [], "must_not_contain": ["¥"], "tags": ["edge:unanswerable"]}
    policy_id = rng.choice(list(queries))
    query = rng.choice(queries[policy_id][language])
    passages = _passages(rng, policy_id, pool)
    return {"query": query, "page_context": {"page": "help"}, "grounding": {"passages": passages},
            "must_contain": list(_policy(policy_id)["figures"]), "must_not_contain": [], "tags": [f"policy:{policy_id}"]}


def gen_faq(rng: random.Random, language: str) -> dict[str, Any]:
    return _passage_case(rng, language, FAQ_QUERIES, [p["id"] for p in store.policies()])


def gen_checkout_help(rng: random.Random, language: str) -> dict[str, Any]:
    case = _passage_case(rng, language, CHECKOUT_QUERIES, [p["id"] for p in store.policies()])
    case["page_context"] = {"page": "checkout", "cart_total_jpy": rng.choice([1452, 2640, 3960, 5280])}
    return case


def gen_order_tracking(rng: random.Random, language: str) -> dict[str, Any]:
    series = rng.choice(list(store.catalog().values()))
    status = rng.choice(list(STATUS_WORDS["en"]))
    order = _order(rng, status, series, rng.randint(1, series.volumes))
    words = STATUS_WORDS[language]
    must = [words[status]]
    if status in ("shipped", "out_for_delivery", "delayed"):
        must += [order["tracking_number"], order["estimated_delivery"]]
    elif status == "delivered":
        must.append(order["delivered_at"])
    elif status == "processing":
        must.append(order["estimated_delivery"])
    wrong = [w for k, w in words.items() if k != status and w not in words[status] and words[status] not in w]
    query = rng.choice(ORDER_QUERIES[language]).format(id=order["order_id"])
    return {"query": query, "page_context": {"page": "order_status"}, "grounding": {"order": order},
            "must_contain": must, "must_not_contain": rng.sample(wrong, 2), "tags": [f"status:{status}"]}


def gen_promotion(rng: random.Random, language: str) -> dict[str, Any]:
    series = rng.choice(list(store.catalog().values()))
    grounding = {"product": store.series_record(series) | {"publisher": series.publisher},
                 "promotions": store.promotions(), "first_order": rng.random() < 0.3}
    applicable = {p["code"] for p in applicable_promotions(grounding)}
    query = rng.choice(PROMOTION_QUERIES[language]).format(title=series.title(language))
    return {"query": query, "page_context": {"page": "product", "series_id": series.id}, "grounding": grounding,
            "must_contain": sorted(applicable),
            "must_not_contain": sorted({p["code"] for p in store.promotions()} - applicable) + ["100%"],
            "tags": [f"promotions:{len(applicable)}"]}


def gen_chitchat(rng: random.Random, language: str) -> dict[str, Any]:
    return {"query": rng.choice(CHITCHAT_QUERIES[language]), "page_context": {"page": "home"}, "grounding": {},
            "must_contain": [], "must_not_contain": ["¥"], "tags": []}


def gen_return_request(rng: random.Random, language: str) -> dict[str, Any]:
    series = rng.choice(list(store.catalog().values()))
    vol = rng.randint(1, series.volumes)
    order = _order(rng, "delivered", series, vol)
    reason = rng.choice(["damaged", "changed_mind", "changed_mind"])
    days = rng.choice([3, 12, 25, 29, 41, 60]) if reason == "changed_mind" else rng.randint(1, 20)
    query = rng.choice(RETURN_QUERIES[reason][language]).format(title=series.title(language), vol=vol, id=order["order_id"])
    grounding = {"order": order, "return_reason": reason, "days_since_delivery": days,
                 "passages": [_policy("returns-window"), _policy("returns-damaged")]}
    if reason == "damaged":
        must, must_not = [order["order_id"], "24"], []
    elif days <= 30:
        must, must_not = [order["order_id"], "30", "5-7"], []
    else:
        must, must_not = [order["order_id"], "30"], ["5-7"]
    return {"query": query, "page_context": {"page": "order_status", "order_id": order["order_id"]}, "grounding": grounding,
            "must_contain": must, "must_not_contain": must_not, "tags": [f"return:{reason}"]}


GENERATORS: dict[str, Callable[[random.Random, str], dict[str, Any]]] = {
    "recommendation": gen_recommendation,
    "product_question": gen_product_question,
    "faq": gen_faq,
    "order_tracking": gen_order_tracking,
    "promotion": gen_promotion,
    "checkout_help": gen_checkout_help,
    "chitchat": gen_chitchat,
    "return_request": gen_return_request,
}


def generate_cases(per_intent: int, seed: int = 20261122) -> list[GoldenCase]:
    cases: list[GoldenCase] = []
    for intent in intent_names():
        rng = random.Random(f"{seed}:{intent}")
        for i in range(per_intent):
            language = "ja" if i % JA_SHARE_MODULUS[0] < JA_SHARE_MODULUS[1] else "en"
            spec = GENERATORS[intent](rng, language)
            spec.pop("_extra_titles", None)
            history: list[dict[str, str]] = []
            tags = list(spec["tags"])
            if intent != "chitchat" and i % 4 == 1:
                user, assistant = GREETING[language][0]
                history = [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
                tags.append("multi_turn")
            reference = compose(intent, language, spec["query"], spec["grounding"]).text
            missing = [m for m in spec["must_contain"] if m not in reference]
            if missing:  # the generator and the answer writer must agree; fail loudly if they drift
                raise AssertionError(f"{intent} case {i}: reference answer lacks {missing}: {reference}")
            cases.append(GoldenCase(
                test_id=f"{intent}-{language}-{i:04d}",
                intent=intent,
                language=language,
                query=spec["query"],
                page_context={**spec["page_context"], "locale": "ja-JP" if language == "ja" else "en-US"},
                history=history,
                grounding=spec["grounding"],
                expected={"must_contain": spec["must_contain"], "must_not_contain": spec["must_not_contain"],
                          "reference_answer": reference},
                tags=tags,
            ))
    return cases


def write_dataset(out_dir: Path, version: str, cases: list[GoldenCase], generator: str) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    by_intent: dict[str, list[GoldenCase]] = {}
    for case in cases:
        by_intent.setdefault(case.intent, []).append(case)
    for intent, intent_cases in by_intent.items():
        lines = [json.dumps(c.to_json(), ensure_ascii=False, sort_keys=True) for c in intent_cases]
        (out_dir / f"{intent}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = build_manifest(out_dir, version, cases, generator)
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", required=True)
    parser.add_argument("--per-intent", type=int, required=True)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    cases = generate_cases(args.per_intent, args.seed)
    out = args.out or GOLDEN_DIR / args.version
    manifest = write_dataset(out, args.version, cases,
                             f"mangaeval.golden_generator --version {args.version} --per-intent {args.per_intent} --seed {args.seed}")
    print(f"wrote {manifest['total_cases']} cases to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
