"""Reproducible generator of golden datasets from the store's own data (include/store_data/).

`python -m mangaeval.golden_generator --version v0 --per-intent 30` rewrites
include/golden_datasets/v0/ byte for byte the same for the same arguments; `--edge-cases` (dataset v1 on)
adds, on a fixed schedule, very long and very short queries, emoji and mixed scripts, typos, ambiguous
questions, questions the grounding cannot answer, and prompt-injection attempts.

`--recipe v2` (dataset v2) keeps the schedule and the expectations and changes what the cases look like:
customers' many wordings in English and polite/casual Japanese with code-switching (`golden_phrasing`),
varied histories, and grounding sized like production's (`golden_grounding`); the cases are built in
`golden_recipe_v2`. Its manifest declares `min_distinct_share` 0.95, so validation enforces distinct cases.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path
from typing import Any, Callable

from mangaeval import injection, store
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

# Edge cases (dataset v1 on): case i of an intent gets EDGE_SCHEDULE.get(i % 20).
EDGE_SCHEDULE = {2: "long", 5: "short", 8: "emoji_mixed", 11: "typo", 14: "unanswerable", 17: "injection", 19: "ambiguous"}
# Intents whose ambiguous form is asked as mixed script instead (a vague question there has one right answer).
NO_AMBIGUOUS_FORM = {"faq", "checkout_help", "promotion", "chitchat"}
LONG_PREAMBLE = {
    "en": ("I've been collecting manga since I was a kid and my shelves are completely full now, so I'm trying to be "
           "careful about what I pick up next. A friend told me this shop is the best place to ask, and I've already "
           "spent an hour browsing on my phone during my commute, so here goes with my question:"),
    "ja": ("子どもの頃から漫画を集めていて、本棚がもういっぱいなので、次に手に取るものは慎重に選びたいと思っています。"
           "友達にこのお店で聞くのが一番だと言われて、通勤中にスマホで一時間ほど眺めていました。そこで質問です。"),
}
TYPOS_EN = [("recommend", "recomend"), ("something", "somthing"), ("volume", "volmue"), ("Where", "Wher"),
            ("What's", "Whats"), ("order", "ordr"), ("return", "retrun"), ("shipping", "shiping"),
            ("payment", "paymnet"), ("Hello", "Helo"), ("discounts", "discoutns"), ("read", "raed"), ("there", "thier")]
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
UNANSWERABLE_MARKERS = {  # what the right answer to an unanswerable question must say, per intent
    "faq": {"en": "support", "ja": "サポート"}, "checkout_help": {"en": "support", "ja": "サポート"},
    "product_question": {"en": "catalog", "ja": "カタログ"}, "recommendation": {"en": "don't have", "ja": "見つかりませんでした"},
    "order_tracking": {"en": "couldn't find", "ja": "見つかりませんでした"}, "return_request": {"en": "couldn't find", "ja": "見つからない"},
    "promotion": {"en": "no promotions", "ja": "キャンペーンはありません"}, "chitchat": {"en": "manga", "ja": "漫画"},
}
UNKNOWN_TITLES = {"en": ["Galaxy Ramen Detective", "The Moonlit Origami Club"], "ja": ["銀河ラーメン探偵", "月夜の折り紙部"]}
PRODUCT_SHORT = {"price": {"en": "{title} {vol} price?", "ja": "{title} {vol}巻 値段?"},
                 "availability": {"en": "{title} {vol} in stock?", "ja": "{title} {vol}巻 在庫?"},
                 "isbn": {"en": "isbn {title} {vol}?", "ja": "{title} {vol}巻 ISBN?"},
                 "volumes": {"en": "{title} how many volumes?", "ja": "{title} 何巻?"},
                 "author": {"en": "{title} author?", "ja": "{title} 作者?"}}
POLICY_SHORT = {"shipping-domestic": ("shipping cost?", "送料?"), "shipping-express": ("express?", "お急ぎ便?"),
                "shipping-international": ("overseas shipping?", "海外発送?"), "returns-window": ("returns?", "返品?"),
                "returns-exclusions": ("return digital code?", "デジタルコード返品?"), "preorders": ("preorder payment?", "予約の支払い?"),
                "points": ("points?", "ポイント?"), "payment-methods": ("payment options?", "支払い方法?"),
                "payment-konbini": ("konbini deadline?", "コンビニ払い期限?"), "payment-cod": ("COD?", "代引き?"),
                "gift-wrapping": ("gift wrap?", "ギフト包装?")}
AMBIGUOUS_QUERIES = {
    "product_question": {"en": "How much is volume {vol}?", "ja": "{vol}巻はいくらですか?"},
    "order_tracking": {"en": "Where's my order?", "ja": "注文はいつ届きますか?"},
    "return_request": {"en": "I want to return a manga I bought.", "ja": "買った漫画を返品したいです。"},
    "recommendation": {"en": "Any recommendations? I'm new here.", "ja": "初めてです。おすすめはありますか?"},
}
SHORT_QUERIES = {
    "recommendation": {"en": "recs?", "ja": "おすすめは?"}, "order_tracking": {"en": "{id} status?", "ja": "{id} 状況?"},
    "promotion": {"en": "{title} coupon?", "ja": "{title} クーポン?"}, "return_request": {"en": "return {id}?", "ja": "{id} 返品?"},
}
CHITCHAT_SHORT = {"en": ["hi", "thx!", "bye"], "ja": ["やあ", "ありがと", "またね"]}
OUT_OF_SCOPE_QUERIES = {"en": ["What's the weather tomorrow in Tokyo?", "Which lottery numbers should I pick?"],
                        "ja": ["明日の東京の天気は?", "宝くじの番号は何がいいですか?"]}
SECOND_TURN = {"en": ("Do you ship to Osaka?", "Yes, we deliver everywhere in Japan."),
               "ja": ("大阪にも配送できますか?", "はい、日本全国にお届けします。")}


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


def status_expectations(order: dict, status: str, language: str) -> tuple[list[str], list[str]]:
    """What an order-status answer must state (the status word and the dates/tracking it implies) and the other
    status words it must not (those not contained in, nor containing, the right one)."""
    words = STATUS_WORDS[language]
    must = [words[status]]
    if status in ("shipped", "out_for_delivery", "delayed"):
        must += [order["tracking_number"], order["estimated_delivery"]]
    elif status == "delivered":
        must.append(order["delivered_at"])
    elif status == "processing":
        must.append(order["estimated_delivery"])
    wrong = [w for k, w in words.items() if k != status and w not in words[status] and words[status] not in w]
    return must, wrong


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


def gen_product_question(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    if edge == "unanswerable":
        title = rng.choice(UNKNOWN_TITLES[language])
        query = rng.choice(PRODUCT_QUERIES["price"][language]).format(title=title, vol=rng.randint(1, 9))
        return {"query": query, "page_context": {"page": "search"}, "grounding": {"products": []},
                "must_contain": [], "must_not_contain": ["¥"], "tags": ["focus:price"]}
    if edge == "ambiguous":
        first, second = rng.sample(list(store.catalog().values()), 2)
        vol = rng.randint(1, min(first.volumes, second.volumes))
        products = [store.product_record(first, vol), store.product_record(second, vol)]
        return {"query": AMBIGUOUS_QUERIES["product_question"][language].format(vol=vol),
                "page_context": {"page": "cart", "series_ids": [first.id, second.id]}, "grounding": {"products": products},
                "must_contain": [first.title(language), second.title(language)], "must_not_contain": ["¥"], "tags": ["focus:price"]}
    series = rng.choice(list(store.catalog().values()))
    focus = rng.choice(list(PRODUCT_QUERIES))
    vol = 1 if focus in ("volumes", "author") else rng.randint(1, series.volumes)
    record = store.product_record(series, vol)
    title = series.title(language)
    query = rng.choice(PRODUCT_QUERIES[focus][language]).format(title=title, vol=vol)
    if edge == "short":
        query = PRODUCT_SHORT[focus][language].format(title=title, vol=vol)
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


def draw_anchor(rng: random.Random, catalog: list[store.Series], min_fans: int) -> tuple[store.Series, str, list[store.Series]]:
    """A title, one of its genres and the other titles of that genre, drawn again until there are `min_fans` of them."""
    while True:
        anchor = rng.choice(catalog)
        genre = rng.choice(anchor.genres)
        fans = [s for s in catalog if genre in s.genres and s.id != anchor.id]
        if len(fans) >= min_fans:
            return anchor, genre, fans


def gen_recommendation(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    catalog = list(store.catalog().values())
    if edge == "unanswerable":  # the recommender returned no candidates
        history = rng.sample(catalog, 2)
        return {"query": rng.choice(RECOMMENDATION_QUERIES[language]), "page_context": {"page": "home"},
                "grounding": {"browsing_history": [store.series_record(s) for s in history], "candidates": []},
                "must_contain": [], "must_not_contain": ["¥"], "tags": []}
    if edge == "ambiguous":  # a new customer: no browsing history to go on
        candidates = [store.series_record(s) for s in rng.sample(catalog, 5)]
        grounding = {"browsing_history": [], "candidates": candidates}
        # Any candidate is a fair pick without a history: no title is required, only that picks are candidates.
        return {"query": AMBIGUOUS_QUERIES["recommendation"][language], "page_context": {"page": "home"}, "grounding": grounding,
                "must_contain": [], "must_not_contain": [], "tags": ["no_history"]}
    while True:
        anchor, genre, fans = draw_anchor(rng, catalog, 2)
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
    if edge == "short":
        query = SHORT_QUERIES["recommendation"][language]
    second = ranked[1]
    return {"query": query, "page_context": {"page": "home", "recently_viewed": [s.id for s in history_series]},
            "grounding": grounding, "must_contain": [best.title(language)], "must_not_contain": [],
            "tags": [f"genre:{genre}"], "_extra_titles": [second]}


def _passage_case(rng: random.Random, language: str, queries: dict[str, dict[str, list[str]]], pool: list[str],
                  edge: str | None = None) -> dict[str, Any]:
    if rng.random() < 0.08 or edge == "unanswerable":
        query = rng.choice(UNANSWERABLE[language])
        passages = _passages(rng, None, pool)
        return {"query": query, "page_context": {"page": "help"}, "grounding": {"passages": passages},
                "must_contain": [], "must_not_contain": ["¥"], "tags": ["edge:unanswerable"]}
    policy_id = rng.choice(list(queries))
    query = rng.choice(queries[policy_id][language])
    if edge == "short":
        query = POLICY_SHORT[policy_id][language == "ja"]
    passages = _passages(rng, policy_id, pool)
    return {"query": query, "page_context": {"page": "help"}, "grounding": {"passages": passages},
            "must_contain": list(_policy(policy_id)["figures"]), "must_not_contain": [], "tags": [f"policy:{policy_id}"]}


def gen_faq(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    return _passage_case(rng, language, FAQ_QUERIES, [p["id"] for p in store.policies()], edge)


def gen_checkout_help(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    case = _passage_case(rng, language, CHECKOUT_QUERIES, [p["id"] for p in store.policies()], edge)
    case["page_context"] = {"page": "checkout", "cart_total_jpy": rng.choice([1452, 2640, 3960, 5280])}
    return case


def gen_order_tracking(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    series = rng.choice(list(store.catalog().values()))
    status = rng.choice(list(STATUS_WORDS["en"]))
    order = _order(rng, status, series, rng.randint(1, series.volumes))
    if edge == "unanswerable":  # the order API found nothing for that id
        query = rng.choice(ORDER_QUERIES[language]).format(id=order["order_id"])
        return {"query": query, "page_context": {"page": "order_status"}, "grounding": {"order": None},
                "must_contain": [], "must_not_contain": list(STATUS_WORDS[language].values()), "tags": ["status:not_found"]}
    if edge == "ambiguous":
        other = _order(rng, rng.choice(list(STATUS_WORDS["en"])), series, 1)
        return {"query": AMBIGUOUS_QUERIES["order_tracking"][language], "page_context": {"page": "order_status"},
                "grounding": {"orders": [order, other]}, "must_contain": [order["order_id"], other["order_id"]],
                "must_not_contain": [], "tags": ["status:ambiguous"]}
    must, wrong = status_expectations(order, status, language)
    query = rng.choice(ORDER_QUERIES[language]).format(id=order["order_id"])
    if edge == "short":
        query = SHORT_QUERIES["order_tracking"][language].format(id=order["order_id"])
    return {"query": query, "page_context": {"page": "order_status"}, "grounding": {"order": order},
            "must_contain": must, "must_not_contain": rng.sample(wrong, 2), "tags": [f"status:{status}"]}


def gen_promotion(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    series = rng.choice(list(store.catalog().values()))
    grounding = {"product": store.series_record(series) | {"publisher": series.publisher},
                 "promotions": store.promotions(), "first_order": rng.random() < 0.3}
    while edge == "unanswerable" and applicable_promotions(grounding):  # nothing applies to this title
        series = rng.choice(list(store.catalog().values()))
        grounding = {"product": store.series_record(series) | {"publisher": series.publisher},
                     "promotions": store.promotions(), "first_order": False}
    applicable = {p["code"] for p in applicable_promotions(grounding)}
    query = rng.choice(PROMOTION_QUERIES[language]).format(title=series.title(language))
    if edge == "short":
        query = SHORT_QUERIES["promotion"][language].format(title=series.title(language))
    return {"query": query, "page_context": {"page": "product", "series_id": series.id}, "grounding": grounding,
            "must_contain": sorted(applicable),
            "must_not_contain": sorted({p["code"] for p in store.promotions()} - applicable) + ["100%"],
            "tags": [f"promotions:{len(applicable)}"]}


def gen_chitchat(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    query = rng.choice(CHITCHAT_QUERIES[language])
    if edge == "short":
        query = rng.choice(CHITCHAT_SHORT[language])
    elif edge == "unanswerable":
        query = rng.choice(OUT_OF_SCOPE_QUERIES[language])
    return {"query": query, "page_context": {"page": "home"}, "grounding": {},
            "must_contain": [], "must_not_contain": ["¥"], "tags": []}


def gen_return_request(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    series = rng.choice(list(store.catalog().values()))
    vol = rng.randint(1, series.volumes)
    order = _order(rng, "delivered", series, vol)
    reason = rng.choice(["damaged", "changed_mind", "changed_mind"])
    days = rng.choice([3, 12, 25, 29, 41, 60]) if reason == "changed_mind" else rng.randint(1, 20)
    query = rng.choice(RETURN_QUERIES[reason][language]).format(title=series.title(language), vol=vol, id=order["order_id"])
    grounding = {"order": order, "return_reason": reason, "days_since_delivery": days,
                 "passages": [_policy("returns-window"), _policy("returns-damaged")]}
    if edge == "short":
        query = SHORT_QUERIES["return_request"][language].format(id=order["order_id"])
    elif edge == "unanswerable":
        grounding["order"] = None
        return {"query": query, "page_context": {"page": "order_status", "order_id": order["order_id"]}, "grounding": grounding,
                "must_contain": [], "must_not_contain": ["5-7"], "tags": ["return:not_found"]}
    elif edge == "ambiguous":
        other = _order(rng, "delivered", rng.choice(list(store.catalog().values())), 1)
        grounding = {**grounding, "order": None, "orders": [order, other]}
        return {"query": AMBIGUOUS_QUERIES["return_request"][language], "page_context": {"page": "order_status"},
                "grounding": grounding, "must_contain": [order["order_id"], other["order_id"]], "must_not_contain": [],
                "tags": ["return:ambiguous"]}
    if reason == "damaged":
        must, must_not = [order["order_id"], "24"], []
    elif days <= 30:
        must, must_not = [order["order_id"], "30", "5-7"], []
    else:
        must, must_not = [order["order_id"], "30"], ["5-7"]
    return {"query": query, "page_context": {"page": "order_status", "order_id": order["order_id"]}, "grounding": grounding,
            "must_contain": must, "must_not_contain": must_not, "tags": [f"return:{reason}"]}


GENERATORS: dict[str, Callable[..., dict[str, Any]]] = {
    "recommendation": gen_recommendation,
    "product_question": gen_product_question,
    "faq": gen_faq,
    "order_tracking": gen_order_tracking,
    "promotion": gen_promotion,
    "checkout_help": gen_checkout_help,
    "chitchat": gen_chitchat,
    "return_request": gen_return_request,
}


def _edge_for(intent: str, i: int) -> str | None:
    edge = EDGE_SCHEDULE.get(i % 20)
    return "emoji_mixed" if edge == "ambiguous" and intent in NO_AMBIGUOUS_FORM else edge


def _mixed_script(query: str, language: str) -> str:
    """Name a title in both scripts, as customers who copy titles from elsewhere do, and add emoji."""
    other = "ja" if language == "en" else "en"
    for series in store.catalog().values():
        title = series.title(language)
        if title and title in query:
            query = query.replace(title, f"{title}({series.title(other)})" if language == "ja" else f"{title} ({series.title(other)})", 1)
            break
    return query + (" 🙏📚" if language == "en" else "🙏✨")


def _with_typos(query: str, language: str) -> str:
    if language == "ja":  # Japanese keyboards: full-width digits and a dropped question mark
        return query.translate(FULL_WIDTH_DIGITS).replace("?", "")
    changed = 0
    for right, wrong in TYPOS_EN:
        pattern = re.compile(rf"\b{re.escape(right)}\b")
        if changed < 2 and pattern.search(query):
            query, changed = pattern.sub(wrong, query, count=1), changed + 1
    return query if changed else query.lower().rstrip("?!.")


def _apply_query_edge(spec: dict[str, Any], edge: str, rng: random.Random, language: str, intent: str) -> None:
    """Edge cases that change only the customer's words (the rest shape the grounding in the generators)."""
    if edge == "long":
        spec["query"] = f"{LONG_PREAMBLE[language]} {spec['query']}"
    elif edge == "emoji_mixed":
        spec["query"] = _mixed_script(spec["query"], language)
    elif edge == "typo":
        spec["query"] = _with_typos(spec["query"], language)
    elif edge == "injection":
        kind = rng.choice(sorted(injection.ATTEMPTS))
        other_order = f"MA-{rng.randint(100000, 999999)}"
        spec["query"] = f"{spec['query']} {injection.attempt_text(kind, language, other_order)}".strip()
        spec["must_not_contain"] = sorted(set(spec["must_not_contain"]) | set(injection.FORBIDDEN_MARKERS[kind])
                                          | ({other_order} if kind == "other_order" else set()))
        spec["tags"] = [*spec["tags"], f"injection:{kind}"]


RECIPES = ("v1", "v2")
V2_MIN_DISTINCT_SHARE = 0.95


def generate_cases(per_intent: int, seed: int = 20261122, edge_cases: bool = False, recipe: str = "v1") -> list[GoldenCase]:
    if recipe == "v2":
        return _generate_v2(per_intent, seed, edge_cases)
    cases: list[GoldenCase] = []
    for intent in intent_names():
        rng = random.Random(f"{seed}:{intent}")
        for i in range(per_intent):
            language = "ja" if i % JA_SHARE_MODULUS[0] < JA_SHARE_MODULUS[1] else "en"
            edge = _edge_for(intent, i) if edge_cases else None
            spec = GENERATORS[intent](rng, language, edge) if edge else GENERATORS[intent](rng, language)
            spec.pop("_extra_titles", None)
            if edge:
                _apply_query_edge(spec, edge, rng, language, intent)
            history: list[dict[str, str]] = []
            tags = list(spec["tags"]) + ([f"edge:{edge}"] if edge and f"edge:{edge}" not in spec["tags"] else [])
            if intent != "chitchat" and i % 4 == 1:
                user, assistant = GREETING[language][0]
                history = [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
                tags.append("multi_turn")
            elif edge_cases and intent != "chitchat" and i % 4 == 3:
                history = [{"role": "user", "content": GREETING[language][0][0]}, {"role": "assistant", "content": GREETING[language][0][1]},
                           {"role": "user", "content": SECOND_TURN[language][0]}, {"role": "assistant", "content": SECOND_TURN[language][1]}]
                tags.append("multi_turn")
            cases.append(_finish_case(intent, language, i, spec, history, tags, edge_cases))
    return cases


def _finish_case(intent: str, language: str, i: int, spec: dict[str, Any], history: list[dict[str, str]], tags: list[str],
                 edge_cases: bool) -> GoldenCase:
    """The case with its reference answer, checked against its expectations (no random draws here)."""
    reference = compose(intent, language, spec["query"], spec["grounding"]).text
    if edge_cases and "edge:unanswerable" in tags:  # the right answer says it cannot answer
        marker = UNANSWERABLE_MARKERS[intent][language]
        if marker not in reference:
            raise AssertionError(f"{intent} case {i}: unanswerable reference lacks '{marker}': {reference}")
        spec["must_contain"] = sorted(set(spec["must_contain"]) | {marker})
    missing = [m for m in spec["must_contain"] if m not in reference]
    if missing:  # the generator and the answer writer must agree; fail loudly if they drift
        raise AssertionError(f"{intent} case {i}: reference answer lacks {missing}: {reference}")
    return GoldenCase(
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
    )


def _v2_language(i: int) -> str:
    """7 in every 20 cases Japanese (35%), the Japanese slots shifted by 3 each block of 20: v1 fixed them at positions
    0-6, so the edges scheduled at 8-19 (emoji, typo, unanswerable, injection, ambiguous) were never Japanese."""
    block, slot = divmod(i, JA_SHARE_MODULUS[0])
    return "ja" if (slot + 3 * block) % JA_SHARE_MODULUS[0] < JA_SHARE_MODULUS[1] else "en"


def _generate_v2(per_intent: int, seed: int, edge_cases: bool) -> list[GoldenCase]:
    from mangaeval import golden_recipe_v2 as v2
    from mangaeval.text import detect_language

    cases: list[GoldenCase] = []
    for intent in intent_names():
        rng = random.Random(f"{seed}:{intent}:v2")
        for i in range(per_intent):
            language = _v2_language(i)
            edge = _edge_for(intent, i) if edge_cases else None
            spec = v2.GENERATORS[intent](rng, language, edge)
            if edge == "injection":
                _apply_query_edge(spec, edge, rng, language, intent)
            elif edge:
                v2.apply_query_edge(spec, edge, rng, language)
            if detect_language(spec["query"]) != language:  # the double answers in the language it reads
                raise AssertionError(f"{intent} case {i}: a '{language}' query reads as another language: {spec['query']}")
            tags = list(spec["tags"]) + ([f"edge:{edge}"] if edge and f"edge:{edge}" not in spec["tags"] else [])
            history = v2.history_for(rng, intent, language, i, edge_cases, tags)
            if history:
                tags.append("multi_turn")
            cases.append(_finish_case(intent, language, i, spec, history, tags, edge_cases))
    return cases


def write_dataset(out_dir: Path, version: str, cases: list[GoldenCase], generator: str,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    by_intent: dict[str, list[GoldenCase]] = {}
    for case in cases:
        by_intent.setdefault(case.intent, []).append(case)
    for intent, intent_cases in by_intent.items():
        lines = [json.dumps(c.to_json(), ensure_ascii=False, sort_keys=True) for c in intent_cases]
        (out_dir / f"{intent}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = build_manifest(out_dir, version, cases, generator)
    manifest.update(extra or {})
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    from mangaeval.argtypes import positive_int

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", required=True)
    parser.add_argument("--per-intent", type=positive_int, required=True)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--edge-cases", action="store_true", help="add the edge-case schedule (dataset v1 on)")
    parser.add_argument("--recipe", choices=RECIPES, default="v1",
                        help="v1: template wordings, one-sentence passages (v0, v1); v2: varied wordings and production-sized grounding")
    args = parser.parse_args(argv)
    cases = generate_cases(args.per_intent, args.seed, edge_cases=args.edge_cases, recipe=args.recipe)
    out = args.out or GOLDEN_DIR / args.version
    command = f"mangaeval.golden_generator --version {args.version} --per-intent {args.per_intent} --seed {args.seed}"
    command += (" --edge-cases" if args.edge_cases else "") + (f" --recipe {args.recipe}" if args.recipe != "v1" else "")
    extra = {"min_distinct_share": V2_MIN_DISTINCT_SHARE} if args.recipe == "v2" else None
    try:
        manifest = write_dataset(out, args.version, cases, command, extra)
    except OSError as exc:
        from mangaeval.errors import MangaEvalError

        raise MangaEvalError(f"{out}: cannot write the dataset ({exc.strerror or exc})") from None
    print(f"wrote {manifest['total_cases']} cases to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
