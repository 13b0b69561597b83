"""Golden dataset v2's cases (`golden_generator --recipe v2`, issue 16 parts 3 and 6a).

What changes from v1: customers' wordings (`golden_phrasing`: many per question, five registers, greetings,
sign-offs, emoji, varied typos and long preambles), varied multi-turn histories, small talk with a history,
and grounding sized like production's (`golden_grounding`). The edge-case schedule, the expectations
(`must_contain` / `must_not_contain`) and the reference writer (`answers.compose`) are v1's, so v2 measures
the same things on cases that look like traffic. A case whose grounding cannot answer always carries the
marker the right answer says so with (v1 added it only on the scheduled edge, which gave promotion three
groups of identical cases with different labels).
"""

from __future__ import annotations

import random
import re
from typing import Any, Callable

from mangaeval import golden_grounding as gg
from mangaeval import golden_phrasing as ph
from mangaeval import store
from mangaeval.answers import AVAILABILITY_WORDS, FOCUS_KEYWORDS, STATUS_WORDS, applicable_promotions, rank_candidates
from mangaeval.golden_generator import draw_anchor, status_expectations
from mangaeval.text import detect_language

UNKNOWN_TITLES = {"en": ["Galaxy Ramen Detective", "The Moonlit Origami Club", "Clockwork Tanuki", "Seven Bells of Kamakura"],
                  "ja": ["銀河ラーメン探偵", "月夜の折り紙部", "からくり狸", "鎌倉七つの鐘"]}
DEVICES = ("mobile", "mobile", "desktop", "app")
GREETINGS = {"en": [("Hi there", "Hello! How can I help you today?"), ("Hello!", "Hi! What can I help you find today?"),
                    ("hey", "Hey! How can I help?"), ("Good evening", "Good evening! What can I do for you?")],
             "ja": [("こんにちは", "こんにちは!何かお手伝いできることはありますか?"), ("こんばんは", "こんばんは!ご用件をお伺いします。"),
                    ("すみません", "はい、どのようなご用件でしょうか?"), ("やあ", "こんにちは!今日はどんな漫画をお探しですか?")]}
PRIOR_TURNS = {"en": [("Do you ship to Osaka?", "Yes, we deliver everywhere in Japan."),
                      ("Do you sell box sets?", "Yes, we carry box sets for many completed series."),
                      ("Are your books new?", "Yes, every book we sell is brand new and shrink-wrapped."),
                      ("Can I change my e-mail address?", "Yes, you can change it on your account page."),
                      ("Is there an app?", "Not yet, but our site works well on phones."),
                      ("Are these the Japanese editions?", "Yes, all our books are the original Japanese editions.")],
               "ja": [("大阪にも配送できますか?", "はい、日本全国にお届けします。"),
                      ("ボックスセットはありますか?", "はい、完結済みの多くの作品でボックスセットを取り扱っています。"),
                      ("本は新品ですか?", "はい、すべて新品でシュリンク包装されています。"),
                      ("メールアドレスは変更できますか?", "はい、アカウントページから変更できます。"),
                      ("アプリはありますか?", "まだありませんが、スマートフォンからも快適にご利用いただけます。")]}
# Words a typo must not touch: what the answer writer and the scorer read from a query.
CUE_WORDS = ["thank", "thanks", "thx", "bye", "see you", "good night", "hello", "hi", "hey", "good morning", "good evening",
             "weather", "lottery", "stock market"]
_ORDER_ID_RE = re.compile(r"MA-\d{6}")


def _titles_of(series: store.Series, prefix: str = "title") -> dict[str, str]:
    return {f"{prefix}_en": series.title_en, f"{prefix}_ja": series.title_ja}


def _page(rng: random.Random, **fields: Any) -> dict[str, Any]:
    return {**fields, "device": rng.choice(DEVICES)}


def gen_product_question(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    catalog = list(store.catalog().values())
    if edge == "unanswerable":  # a title the store does not carry: the search page offers popular titles instead
        k = rng.randrange(len(UNKNOWN_TITLES["en"]))
        slots = {"title_en": UNKNOWN_TITLES["en"][k], "title_ja": UNKNOWN_TITLES["ja"][k], "vol": rng.randint(1, 9)}
        query = ph.phrase(rng, ph.PRODUCT["price"], language, slots)
        grounding = {"products": [], "popular": [gg.series_card(s, language) for s in rng.sample(catalog, gg.ALSO_BOUGHT)]}
        return {"query": query, "page_context": _page(rng, page="search"), "grounding": grounding,
                "must_contain": [], "must_not_contain": ["¥"], "tags": ["focus:price"]}
    if edge == "ambiguous":  # two titles in the cart, the question names neither
        first, second = rng.sample(catalog, 2)
        vol = rng.randint(1, min(first.volumes, second.volumes))
        products = [{**store.product_record(s, vol), "format": "tankobon", "edition": "Japanese edition"} for s in (first, second)]
        query = ph.short(rng, {"en": ["How much is volume {vol}?", "What does vol {vol} cost?", "price of volume {vol}?"],
                               "ja": ["{vol}巻はいくらですか?", "{vol}巻っていくら?", "{vol}巻の値段を教えてください。"]}, language, {"vol": vol})
        return {"query": query, "page_context": _page(rng, page="cart", series_ids=[first.id, second.id]),
                "grounding": {"products": products}, "must_contain": [first.title(language), second.title(language)],
                "must_not_contain": ["¥"], "tags": ["focus:price"]}
    series = rng.choice(catalog)
    focus = rng.choice(list(ph.PRODUCT))
    vol = 1 if focus in ("volumes", "author") else rng.randint(1, series.volumes)
    grounding = gg.product_page(rng, series, vol, language)
    record = grounding["products"][0]
    slots = {**_titles_of(series), "vol": vol}
    query = ph.short(rng, ph.SHORT["product_question"][focus], language, slots) if edge == "short" else ph.phrase(rng, ph.PRODUCT[focus], language, slots)
    values = {"price": store.yen(series.price_jpy), "availability": None, "isbn": record["isbn"], "volumes": str(series.volumes),
              "author": series.author(language)}
    words = AVAILABILITY_WORDS[language]
    must = [series.title(language), values[focus] or words[record["availability"]]]
    must_not = [w for k, w in words.items() if k != record["availability"] and w not in words[record["availability"]]] if focus == "availability" else []
    return {"query": query, "page_context": _page(rng, page="product", series_id=series.id, volume=vol), "grounding": grounding,
            "must_contain": must, "must_not_contain": must_not, "tags": [f"focus:{focus}"]}


def _recommender_case(rng: random.Random, language: str) -> tuple[list[store.Series], str, dict[str, Any]]:
    """Browsing history (two or three titles sharing a genre), and the recommender's candidates: three more titles
    of that genre and eight others from the catalog, each with its blurb, in the recommender's order."""
    catalog = list(store.catalog().values())
    while True:
        anchor, genre, fans = draw_anchor(rng, catalog, 4)
        history = [anchor, *rng.sample(fans, rng.choice((1, 1, 2)))]
        pool = [s for s in fans if s not in history]
        if len(pool) < 3:
            continue
        close = rng.sample(pool, 3)
        rest = [s for s in catalog if s not in history and s not in close]
        chosen = close + rng.sample(rest, gg.RECOMMENDER_CANDIDATES - 3)
        rng.shuffle(chosen)
        grounding = {"browsing_history": [store.series_record(s) for s in history],
                     "candidates": [gg.series_card(s, language) for s in chosen]}
        return history, genre, grounding


def gen_recommendation(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    catalog = list(store.catalog().values())
    if edge == "ambiguous":  # a new customer: no history; any candidate is a fair pick
        grounding = {"browsing_history": [], "candidates": [gg.series_card(s, language) for s in rng.sample(catalog, gg.RECOMMENDER_CANDIDATES)]}
        return {"query": ph.phrase(rng, ph.RECOMMENDATION["new_reader"], language), "page_context": _page(rng, page="home"),
                "grounding": grounding, "must_contain": [], "must_not_contain": [], "tags": ["no_history"]}
    history, genre, grounding = _recommender_case(rng, language)
    liked = rng.choice(history)
    slots = {**_titles_of(liked, "liked"), "genre": genre}
    kind = rng.choice(("general", "liked", "liked", "genre"))
    query = ph.short(rng, ph.SHORT["recommendation"], language, {}) if edge == "short" else ph.phrase(rng, ph.RECOMMENDATION[kind], language, slots)
    page = _page(rng, page="home", recently_viewed=[s.id for s in history])
    if edge == "unanswerable":  # the recommender returned no candidates
        grounding = {**grounding, "candidates": []}
        return {"query": query, "page_context": page, "grounding": grounding, "must_contain": [], "must_not_contain": ["¥"], "tags": []}
    best = rank_candidates(grounding)[0]
    return {"query": query, "page_context": page, "grounding": grounding, "must_contain": [best.get(f"title_{language}") or best["title_en"]],
            "must_not_contain": [], "tags": [f"genre:{genre}"]}


def _passage_case(rng: random.Random, language: str, table: dict[str, dict[str, list[str]]], edge: str | None) -> dict[str, Any]:
    if rng.random() < 0.08 or edge == "unanswerable":  # a question the help center does not cover
        query = rng.choice(ph.UNANSWERABLE[language])
        return {"query": query, "page_context": _page(rng, page="help"), "grounding": {"passages": gg.retrieved_chunks(rng, None, language)},
                "must_contain": [], "must_not_contain": ["¥"], "tags": ["edge:unanswerable"]}
    policy_id = rng.choice(list(table))
    if edge == "short":
        options = ph.POLICY_SHORT.get(policy_id)
        query = rng.choice(options[language == "ja"]) if options else ph.phrase(rng, table[policy_id], language, decorate=False)
    else:
        query = ph.phrase(rng, table[policy_id], language)
    figures = next(p["figures"] for p in store.policies() if p["id"] == policy_id)
    return {"query": query, "page_context": _page(rng, page="help"), "grounding": {"passages": gg.retrieved_chunks(rng, policy_id, language)},
            "must_contain": list(figures), "must_not_contain": [], "tags": [f"policy:{policy_id}"]}


def gen_faq(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    return _passage_case(rng, language, ph.FAQ, edge)


def gen_checkout_help(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    case = _passage_case(rng, language, ph.CHECKOUT, edge)
    case["page_context"] = _page(rng, page="checkout", cart_total_jpy=rng.choice([1452, 2640, 3960, 5280]))
    return case


def gen_order_tracking(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    from mangaeval.golden_generator import _order

    series = rng.choice(list(store.catalog().values()))
    status = rng.choice(list(STATUS_WORDS["en"]))
    order = gg.order_details(rng, _order(rng, status, series, rng.randint(1, series.volumes)), language)
    slots = {"id": order["order_id"]}
    if edge == "unanswerable":  # the order API found nothing for that id
        return {"query": ph.phrase(rng, ph.ORDER["track"], language, slots), "page_context": _page(rng, page="order_status"),
                "grounding": {"order": None}, "must_contain": [],
                "must_not_contain": list(STATUS_WORDS[language].values()), "tags": ["status:not_found"]}
    if edge == "ambiguous":
        other = gg.order_details(rng, _order(rng, rng.choice(list(STATUS_WORDS["en"])), series, 1), language)
        return {"query": ph.phrase(rng, ph.ORDER["which"], language), "page_context": _page(rng, page="order_status"),
                "grounding": {"orders": [order, other]},
                "must_contain": [order["order_id"], other["order_id"]],
                "must_not_contain": [], "tags": ["status:ambiguous"]}
    must, wrong = status_expectations(order, status, language)
    query = ph.short(rng, ph.SHORT["order_tracking"], language, slots) if edge == "short" else ph.phrase(rng, ph.ORDER["track"], language, slots)
    return {"query": query, "page_context": _page(rng, page="order_status"),
            "grounding": {"order": order},
            "must_contain": must, "must_not_contain": rng.sample(wrong, 2), "tags": [f"status:{status}"]}


def gen_promotion(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    from mangaeval.golden_generator import UNANSWERABLE_MARKERS

    catalog = list(store.catalog().values())
    series = rng.choice(catalog)
    first_order = rng.random() < 0.3
    grounding = gg.promotion_page(series, language, first_order)
    while edge == "unanswerable" and applicable_promotions(grounding):  # nothing applies to this title
        series = rng.choice(catalog)
        grounding = gg.promotion_page(series, language, False)
    applicable = {p["code"] for p in applicable_promotions(grounding)}
    slots = _titles_of(series)
    table = ph.PROMOTION["first"] if grounding["first_order"] and rng.random() < 0.5 else ph.PROMOTION["any"]
    query = ph.short(rng, ph.SHORT["promotion"], language, slots) if edge == "short" else ph.phrase(rng, table, language, slots)
    return {"query": query, "page_context": _page(rng, page="product", series_id=series.id), "grounding": grounding,
            "must_contain": sorted(applicable) or [UNANSWERABLE_MARKERS["promotion"][language]],
            "must_not_contain": sorted({p["code"] for p in store.promotions()} - applicable) + ["100%"],
            "tags": [f"promotions:{len(applicable)}"]}


def gen_chitchat(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    from mangaeval.golden_generator import UNANSWERABLE_MARKERS

    query, act = ph.chitchat(rng, language)
    if edge == "short":  # a one-word greeting, thanks or goodbye
        query, act = rng.choice(ph.SHORT["chitchat"][language]), "short"
    elif edge == "unanswerable":
        query, act = ph.chitchat_act(rng, "out_of_scope", language), "out_of_scope"
    # Off-topic questions are declined with the marker whether or not they are the scheduled edge (same case, same label).
    must = [UNANSWERABLE_MARKERS["chitchat"][language]] if act == "out_of_scope" else []
    return {"query": query, "page_context": _page(rng, page="home"), "grounding": {},
            "must_contain": must, "must_not_contain": ["¥"], "tags": [f"act:{act}"]}


def gen_return_request(rng: random.Random, language: str, edge: str | None = None) -> dict[str, Any]:
    from mangaeval.golden_generator import _order

    catalog = list(store.catalog().values())
    series = rng.choice(catalog)
    vol = rng.randint(1, series.volumes)
    order = gg.order_details(rng, _order(rng, "delivered", series, vol), language)
    reason = rng.choice(["damaged", "changed_mind", "changed_mind"])
    days = rng.choice([3, 12, 25, 29, 41, 60]) if reason == "changed_mind" else rng.randint(1, 20)
    slots = {**_titles_of(series), "vol": vol, "id": order["order_id"]}
    query = ph.phrase(rng, ph.RETURN[reason], language, slots)
    passages = [gg.help_chunk(pid, language, round(rng.uniform(0.6, 0.92), 2)) for pid in ("returns-window", "returns-damaged")]
    passages.sort(key=lambda p: -p["score"])
    grounding = {"order": order, "return_reason": reason, "days_since_delivery": days, "passages": passages}
    page = _page(rng, page="order_status", order_id=order["order_id"])
    if edge == "short":
        query = ph.short(rng, ph.SHORT["return_request"], language, slots)
    elif edge == "unanswerable":
        grounding["order"] = None
        return {"query": query, "page_context": page, "grounding": grounding, "must_contain": [], "must_not_contain": ["5-7"],
                "tags": ["return:not_found"]}
    elif edge == "ambiguous":
        other = gg.order_details(rng, _order(rng, "delivered", rng.choice(catalog), 1), language)
        grounding = {**grounding, "order": None, "orders": [order, other]}
        return {"query": ph.phrase(rng, ph.RETURN["which"], language), "page_context": _page(rng, page="order_status"),
                "grounding": grounding, "must_contain": [order["order_id"], other["order_id"]], "must_not_contain": [], "tags": ["return:ambiguous"]}
    if reason == "damaged":
        must, must_not = [order["order_id"], "24"], []
    elif days <= 30:
        must, must_not = [order["order_id"], "30", "5-7"], []
    else:
        must, must_not = [order["order_id"], "30"], ["5-7"]
    return {"query": query, "page_context": page, "grounding": grounding, "must_contain": must, "must_not_contain": must_not,
            "tags": [f"return:{reason}"]}


GENERATORS: dict[str, Callable[..., dict[str, Any]]] = {
    "recommendation": gen_recommendation, "product_question": gen_product_question, "faq": gen_faq,
    "order_tracking": gen_order_tracking, "promotion": gen_promotion, "checkout_help": gen_checkout_help,
    "chitchat": gen_chitchat, "return_request": gen_return_request,
}


def history_for(rng: random.Random, intent: str, language: str, i: int, edge_cases: bool, tags: list[str]) -> list[dict[str, str]]:
    """Earlier turns of the conversation (alternating, ending with the assistant): a greeting and/or an earlier
    question on v1's schedule; small talk that thanks or says goodbye mostly follows an earlier exchange."""
    def turns(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
        return [t for user, assistant in pairs for t in ({"role": "user", "content": user}, {"role": "assistant", "content": assistant})]

    greeting, prior = rng.choice(GREETINGS[language]), rng.choice(PRIOR_TURNS[language])
    if intent == "chitchat":  # a greeting opens a conversation; thanks, goodbyes and asides mostly come later in one
        if "act:greeting" not in tags and i % 4 != 0:
            return turns([prior] if i % 2 else [greeting, prior])
        return []
    if i % 4 == 1:
        return turns([rng.choice((greeting, prior))])
    if edge_cases and i % 4 == 3:
        return turns([greeting, prior])
    return []


def protected_words(spec: dict[str, Any]) -> list[str]:
    """What a typo must leave alone in this case's query: titles, order ids, focus keywords and small-talk cues."""
    titles = [t for s in store.catalog().values() for t in (s.title_en, s.title_ja)] + [t for ts in UNKNOWN_TITLES.values() for t in ts]
    keywords = [w for words in FOCUS_KEYWORDS.values() for w in words]
    return titles + _ORDER_ID_RE.findall(spec["query"]) + keywords + CUE_WORDS


def apply_query_edge(spec: dict[str, Any], edge: str, rng: random.Random, language: str) -> None:
    """v2's edge cases that change only the customer's words (injection attempts are v1's, applied by the caller)."""
    query = spec["query"]
    if edge == "long":
        query = ph.long_form(rng, query, language)
    elif edge == "emoji_mixed":
        tail = rng.choice(ph.EMOJI_TAILS[language])
        for series in store.catalog().values():
            title, other = series.title(language), series.title("en" if language == "ja" else "ja")
            if title and title in query:
                both = query.replace(title, f"{title}({other})" if language == "ja" else f"{title} ({other})", 1) + tail
                query = both if detect_language(both) == language else query + tail
                break
        else:
            query += tail
    elif edge == "typo":
        query = ph.with_typos(rng, query, language, protected_words(spec))
    spec["query"] = query
