"""Compose a grounded answer from what a prompt carries: intent, language, user query and grounding.

Used twice, from the same inputs: the golden-set generator writes reference answers with it, and the
model double answers requests with it (then degrades the answer according to the model's tier). The
double only ever sees the request, so it can only state facts the grounding carries.

A grounding sized like production's (golden dataset v2: help-center chunks, blurbs, tracking events,
promotion terms; `mangaeval.golden_grounding`) gets the answer a capable model writes from it, as long as
production's answers: the facts asked for, then `detail` parts that explain them from the same grounding
(the chunk's details, the picks' blurbs and why they fit, the order's items and latest scan, a code's
terms). v0/v1 groundings carry none of that, so their answers are exactly what they always were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mangaeval import injection
from mangaeval.store import yen

STATUS_WORDS = {
    "en": {
        "processing": "being prepared",
        "shipped": "shipped",
        "out_for_delivery": "out for delivery",
        "delivered": "delivered",
        "delayed": "delayed",
        "cancelled": "cancelled",
    },
    "ja": {
        "processing": "準備中",
        "shipped": "発送済み",
        "out_for_delivery": "配達中",
        "delivered": "配達済み",
        "delayed": "遅延",
        "cancelled": "キャンセル済み",
    },
}
AVAILABILITY_WORDS = {
    "en": {"in_stock": "in stock", "backorder": "on backorder", "out_of_stock": "out of stock"},
    "ja": {"in_stock": "在庫あり", "backorder": "お取り寄せ", "out_of_stock": "在庫切れ"},
}
FOCUS_KEYWORDS = {
    "price": ("price", "cost", "how much", "いくら", "値段", "価格"),
    "availability": ("stock", "available", "availab", "在庫", "買え"),
    "isbn": ("isbn",),
    "volumes": ("how many volumes", "how many books", "volumes are", "何巻", "巻数", "全何"),
    "author": ("who wrote", "author", "who drew", "mangaka", "作者", "著者", "誰が", "描いた"),
}


@dataclass
class Part:
    """One sentence of an answer. `kind` is opening, fact, detail, refusal or closing; facts carry checkable values;
    details explain them from the grounding (a shorter answer leaves some out)."""

    text: str
    kind: str = "fact"
    values: list[str] = field(default_factory=list)


@dataclass
class Answer:
    parts: list[Part]
    language: str = "en"

    @property
    def text(self) -> str:
        # Japanese sentences are not separated by spaces.
        return ("" if self.language == "ja" else " ").join(p.text for p in self.parts).strip()


_SENTENCE_EN = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def sentences(text: str, language: str) -> list[str]:
    """A paragraph's sentences (after 。 in Japanese; after . ! ? before a capital otherwise)."""
    if language == "ja":
        return [s for s in re.split(r"(?<=。)", text) if s.strip()]
    return [s for s in _SENTENCE_EN.split(text.strip()) if s.strip()]


def _details(text: str | None, language: str) -> list[Part]:
    return [Part(s, "detail") for s in sentences(text, language)] if text else []


def _chunk_paragraphs(passage: dict[str, Any], language: str) -> list[str] | None:
    """A help-center chunk's paragraphs in `language` (None for a one-statement passage; [] when the chunk is in
    another language, which a model answering in this one cannot quote)."""
    texts = {k: v for k, v in passage.items() if k.startswith("text_") and isinstance(v, str)}
    if not any("\n\n" in v for v in texts.values()):
        return None
    text = texts.get(f"text_{language}")
    return text.split("\n\n") if text else []


def question_focus(query: str) -> list[str]:
    lowered = query.lower()
    return [focus for focus, words in FOCUS_KEYWORDS.items() if any(w in lowered for w in words)]


def _t(language: str, en: str, ja: str) -> str:
    return ja if language == "ja" else en


def _title(record: dict[str, Any], language: str) -> str:
    return record.get(f"title_{language}") or record.get("title_en", "")


def _mentions_title(query: str, record: dict[str, Any]) -> bool:
    lowered = query.lower()
    return any(record.get(k) and record[k].lower() in lowered for k in ("title_en", "title_ja"))


def _clarify_title(language: str, products: list[dict[str, Any]]) -> list[Part]:
    titles = [_title(p, language) for p in products]
    return [Part(_t(language, f"Which title do you mean: {' or '.join(titles)}?", f"{'と'.join(titles)}のどちらについてのご質問ですか?"),
                 "fact", titles)]


def _product_question(language: str, query: str, grounding: dict[str, Any]) -> list[Part]:
    products = grounding.get("products") or []
    if not products:
        return [Part(_t(language, "I couldn't find that title in our catalog, so I can't confirm its details.",
                        "申し訳ありません、その作品はカタログに見つからず、詳細を確認できません。"), "fact")]
    if len(products) > 1:  # several candidates from the page: answer about the one named, else ask
        named = [p for p in products if _mentions_title(query, p)]
        if len(named) != 1:
            return _clarify_title(language, products)
        products = named
    p = products[0]
    title, vol = _title(p, language), p["volume"]
    focus = question_focus(query) or ["price", "availability"]
    stock = AVAILABILITY_WORDS[language][p["availability"]]
    parts = [Part(_t(language, f"Here are the details for {title} volume {vol}.", f"{title} 第{vol}巻についてご案内します。"), "opening", [title])]
    for f in focus:
        if f == "price":
            parts.append(Part(_t(language, f"It costs {yen(p['price_jpy'])} (tax included).", f"価格は{yen(p['price_jpy'])}(税込)です。"), "fact", [yen(p["price_jpy"])]))
        elif f == "availability":
            parts.append(Part(_t(language, f"It is currently {stock}.", f"現在{stock}です。"), "fact", [stock]))
        elif f == "isbn":
            parts.append(Part(_t(language, f"Its ISBN is {p['isbn']}.", f"ISBNは{p['isbn']}です。"), "fact", [p["isbn"]]))
        elif f == "volumes":
            status = {"completed": _t(language, "completed", "完結済み"), "ongoing": _t(language, "ongoing", "連載中"), "hiatus": _t(language, "on hiatus", "休載中")}[p["series_status"]]
            parts.append(Part(_t(language, f"The series has {p['volumes_published']} volumes so far and is {status}.", f"シリーズは現在{p['volumes_published']}巻まで刊行されており、{status}です。"), "fact", [str(p["volumes_published"])]))
        elif f == "author":
            author = p.get(f"author_{language}") or p["author_en"]
            parts.append(Part(_t(language, f"It is by {author}, published by {p['publisher']}.", f"作者は{author}で、出版社は{p['publisher']}です。"), "fact", [author]))
    if isinstance(grounding.get("series"), dict):  # a product page: say what the series is, as a shop assistant would
        parts += _product_details(language, p, focus, grounding)
    parts.append(Part(_t(language, "Would you like me to add it to your cart?", "カートに追加しましょうか?"), "closing"))
    return parts


def _product_details(language: str, p: dict[str, Any], focus: list[str], grounding: dict[str, Any]) -> list[Part]:
    series = grounding["series"]
    out = []
    if "author" not in focus:
        author = p.get(f"author_{language}") or p["author_en"]
        out.append(Part(_t(language, f"It's by {author}, from {p['publisher']}.", f"作者は{author}、出版社は{p['publisher']}です。"), "detail"))
    n = series.get("volumes_published")
    if "volumes" not in focus and series.get("status") == "completed":
        out.append(Part(_t(language, f"The series is complete at {n} volumes.", f"シリーズは全{n}巻で完結済みです。"), "detail"))
    elif "volumes" not in focus and series.get("status") in ("ongoing", "hiatus"):
        state = _t(language, "still ongoing" if series["status"] == "ongoing" else "on hiatus", "連載中" if series["status"] == "ongoing" else "休載中")
        out.append(Part(_t(language, f"The series is {state}, with {n} volumes out so far.", f"シリーズは{state}で、現在{n}巻まで刊行されています。"), "detail"))
    out += _details(series.get(f"synopsis_{language}"), language)
    if "isbn" not in focus and p.get("isbn"):
        out.append(Part(_t(language, f"This is the {p.get('edition', 'standard edition')} ({p.get('format', 'tankobon')}), ISBN {p['isbn']}.",
                           f"こちらは単行本の日本語版で、ISBNは{p['isbn']}です。"), "detail"))
    also = [_title(s, language) for s in grounding.get("also_bought") or []][:3]
    if also:
        out.append(Part(_t(language, f"Readers who bought it also picked up {', '.join(also[:-1])} and {also[-1]}.",
                           f"この作品をご購入の方には、{'、'.join(also)}も人気です。"), "detail"))
    return out


def rank_candidates(grounding: dict[str, Any]) -> list[dict[str, Any]]:
    """Candidates ordered by genre overlap with the browsing history (demographic as tie-break)."""
    history = grounding.get("browsing_history") or []
    seen = {h.get("series_id") for h in history}
    liked_genres: dict[str, int] = {}
    for h in history:
        for g in h.get("genres", []):
            liked_genres[g] = liked_genres.get(g, 0) + 1
    demographics = {h.get("demographic") for h in history}
    candidates = [c for c in grounding.get("candidates") or [] if c.get("series_id") not in seen]

    def score(c: dict[str, Any]) -> tuple[int, int, str]:
        return (sum(liked_genres.get(g, 0) for g in c.get("genres", [])), int(c.get("demographic") in demographics), c.get("series_id", ""))

    return sorted(candidates, key=lambda c: (-score(c)[0], -score(c)[1], score(c)[2]))


def _recommendation(language: str, query: str, grounding: dict[str, Any], ignore_history: bool = False) -> list[Part]:
    history = grounding.get("browsing_history") or []
    ranked = list(grounding.get("candidates") or []) if ignore_history else rank_candidates(grounding)
    if not ranked:
        return [Part(_t(language, "I don't have suitable titles to suggest right now.", "今おすすめできる作品が見つかりませんでした。"), "fact")]
    rich = any(k.startswith("synopsis_") for c in ranked for k in c)  # the recommender sent blurbs: present three
    picks = ranked[:3] if rich else ranked[:2]
    liked = [_title(h, language) for h in history[:2]]
    if liked and not ignore_history:
        opening = _t(language, f"Since you've been looking at {' and '.join(liked)}, here are my picks.", f"{'や'.join(liked)}をご覧になっていたので、こちらをおすすめします。")
    else:
        opening = _t(language, "Here are some popular picks.", "人気の作品をご紹介します。")
    parts = [Part(opening, "opening")]
    for c in picks:
        genres = ", ".join(c.get("genres", [])[:2])
        author = c.get(f"author_{language}") or c["author_en"]
        parts.append(Part(
            _t(language,
               f"{_title(c, language)} by {author} ({genres}, {c['volumes_published']} volumes, {yen(c['price_jpy'])} each).",
               f"{_title(c, language)}({author}、{genres}、全{c['volumes_published']}巻、各{yen(c['price_jpy'])})。"),
            "fact", [_title(c, language)]))
        if rich:
            parts += _details(c.get(f"synopsis_{language}"), language)
            if history and not ignore_history:
                parts += _why_it_fits(language, c, history)
            parts += _how_to_read(language, c)
    closing = ("Want me to tell you more about any of them?", "どれか詳しくご紹介しましょうか?") if rich else \
        ("Want me to tell you more about either one?", "どちらか詳しくご紹介しましょうか?")
    parts.append(Part(_t(language, *closing), "closing"))
    return parts


def _why_it_fits(language: str, pick: dict[str, Any], history: list[dict[str, Any]]) -> list[Part]:
    """The history title this pick shares the most genres with, and one genre they share."""
    shared, seen = max(((len(set(pick.get("genres", [])) & set(h.get("genres", []))), h) for h in history), key=lambda t: t[0])
    if not shared:
        return []
    genre = next(g for g in pick.get("genres", []) if g in seen.get("genres", []))
    title = _title(seen, language)
    return [Part(_t(language, f"If you enjoyed {title}, you'll find the same {genre} here.",
                    f"{title}がお好きなら、同じ{genre}の魅力を楽しめるはずです。"), "detail")]


def _how_to_read(language: str, pick: dict[str, Any]) -> list[Part]:
    """Whether the series can be read straight through or is still coming out (a recommender record's status)."""
    n, status = pick.get("volumes_published"), pick.get("status")
    if status == "completed":
        return [Part(_t(language, f"It's complete at {n} volumes, so you can read it straight through from the first volume.",
                        f"全{n}巻で完結しているので、第一巻から一気に読めます。"), "detail")]
    if status in ("ongoing", "hiatus"):
        state = _t(language, "still ongoing" if status == "ongoing" else "on hiatus", "連載中" if status == "ongoing" else "休載中")
        return [Part(_t(language, f"It's {state}, with {n} volumes out so far, so the first volume is the place to start.",
                        f"現在{n}巻まで刊行されている{state}の作品なので、まずは第一巻からどうぞ。"), "detail")]
    return []


def _passage_answer(language: str, grounding: dict[str, Any], use_passage: int = 0) -> list[Part]:
    passages = grounding.get("passages") or []
    if not passages:
        return [Part(_t(language, "I don't have information on that in our store policies, so I can't answer it reliably. Please contact our support team.",
                        "その件については店舗の規約に情報がなく、確実なお答えができません。サポート窓口にお問い合わせください。"), "fact", ["support"])]
    chosen = passages[min(use_passage, len(passages) - 1)]
    if chosen.get("score", 1.0) < 0.5 and use_passage == 0:  # retriever found nothing relevant
        return [Part(_t(language, "I'm sorry, our store policies don't cover that, so I can't answer it reliably. Please contact our support team.",
                        "申し訳ありません、店舗の規約にその情報がないため確実なお答えができません。サポート窓口にお問い合わせください。"), "fact", ["support"])]
    paragraphs = _chunk_paragraphs(chosen, language)
    if paragraphs is not None:  # a help-center chunk: the statement, then its details (related paragraphs left out)
        body = [Part(paragraphs[0], "fact", list(chosen.get("figures", [])))] if paragraphs else []
        body += _details(paragraphs[1] if len(paragraphs) > 1 else None, language)
    else:
        body = [Part(chosen.get(f"text_{language}") or chosen.get("text_en", ""), "fact", list(chosen.get("figures", [])))]
    return [
        Part(_t(language, "Happy to help with that.", "ご質問ありがとうございます。"), "opening"),
        *body,
        Part(_t(language, "Is there anything else I can help with?", "ほかにお手伝いできることはありますか?"), "closing"),
    ]


def _clarify_order(language: str, orders: list[dict[str, Any]]) -> list[Part]:
    ids = [o["order_id"] for o in orders]
    return [Part(_t(language, f"I see several recent orders on your account: {' and '.join(ids)}. Which one do you mean?",
                    f"最近のご注文が複数あります({'と'.join(ids)})。どちらのご注文ですか?"), "fact", ids)]


def _order_tracking(language: str, grounding: dict[str, Any]) -> list[Part]:
    if grounding.get("orders"):  # the order API returned several recent orders and the customer named none
        return _clarify_order(language, grounding["orders"])
    order = grounding.get("order")
    if not order:
        return [Part(_t(language, "I couldn't find that order. Could you check the order number?", "そのご注文が見つかりませんでした。注文番号をご確認いただけますか?"), "fact")]
    status = STATUS_WORDS[language][order["status"]]
    parts = [Part(_t(language, f"Your order {order['order_id']} is {status}.", f"ご注文{order['order_id']}は{status}です。"), "fact", [status, order["order_id"]])]
    if order["status"] in ("shipped", "out_for_delivery", "delayed"):
        parts.append(Part(_t(language, f"It is with {order['carrier']} (tracking number {order['tracking_number']}) and expected to arrive on {order['estimated_delivery']}.",
                             f"{order['carrier']}でお届け中です(追跡番号{order['tracking_number']})。お届け予定日は{order['estimated_delivery']}です。"), "fact",
                          [order["tracking_number"], order["estimated_delivery"]]))
    elif order["status"] == "delivered":
        parts.append(Part(_t(language, f"It arrived on {order['delivered_at']}.", f"{order['delivered_at']}にお届け済みです。"), "fact", [order["delivered_at"]]))
    elif order["status"] == "processing":
        parts.append(Part(_t(language, f"It is expected to arrive on {order['estimated_delivery']}.", f"お届け予定日は{order['estimated_delivery']}です。"), "fact", [order["estimated_delivery"]]))
    elif order["status"] == "cancelled":
        parts.append(Part(_t(language, "No charge was made for it.", "ご請求は発生しておりません。"), "fact"))
    if order.get("tracking_events"):  # the order API's full record: what is in it, the latest scan, what comes next
        parts += _order_details(language, order)
    parts.append(Part(_t(language, "Let me know if you need anything else.", "ほかにご不明な点があればお知らせください。"), "closing"))
    return parts


def _order_details(language: str, order: dict[str, Any]) -> list[Part]:
    """Detail sentences of an order answer. None uses another status's words or states a date (the scorer reads
    a date in an order answer as the delivery date)."""
    items = [f"{_title(i, language)} " + _t(language, f"vol. {i['volume']}", f"{i['volume']}巻") for i in order.get("items") or []]
    out = []
    if items:
        listed = ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else items[0]
        out.append(Part(_t(language, f"It contains {listed}.", f"お荷物の内容は{'、'.join(items)}です。"), "detail"))
    latest = order["tracking_events"][-1]
    event = latest.get(f"event_{language}")
    if event:
        time = latest.get("time", "")[-5:]
        out.append(Part(_t(language, f"Latest tracking update, at {time}: {event}.", f"最新の追跡情報({time}):{event}。"), "detail"))
    status = order["status"]
    if status != "cancelled" and order.get("shipping_method") and order.get("ship_to_region"):
        method = order["shipping_method"] if language == "en" else {"express": "お急ぎ便"}.get(order["shipping_method"], "通常便")
        out.append(Part(_t(language, f"Shipping method: {method}, to {order['ship_to_region']}.", f"配送方法は{method}、お届け先は{order['ship_to_region']}です。"), "detail"))
    if status in ("shipped", "out_for_delivery", "delayed"):
        out.append(Part(_t(language, f"You can follow it on the {order['carrier']} website with tracking number {order['tracking_number']}.",
                           f"{order['carrier']}のサイトで、追跡番号{order['tracking_number']}から配送状況を確認できます。"), "detail"))
    elif status == "processing":
        out.append(Part(_t(language, "You'll get an e-mail with the tracking number as soon as it leaves our warehouse.",
                           "倉庫を出た時点で、追跡番号をメールでお知らせします。"), "detail"))
    elif status == "delivered":
        out.append(Part(_t(language, "If you can't find the parcel, please check your mailbox or delivery box, and tell me if it isn't there.",
                           "お荷物が見当たらない場合は、郵便受けや宅配ボックスをご確認のうえお知らせください。"), "detail"))
    elif status == "cancelled":
        out.append(Part(_t(language, "If you'd still like these volumes, I can help you place a new order.",
                           "改めてご注文をご希望でしたら、お手伝いいたします。"), "detail"))
    return out


def applicable_promotions(grounding: dict[str, Any]) -> list[dict[str, Any]]:
    product = grounding.get("product") or {}
    result = []
    for promo in grounding.get("promotions") or []:
        rule = promo.get("applies_to", {})
        if "publisher" in rule and rule["publisher"] != product.get("publisher"):
            continue
        if "demographic" in rule and rule["demographic"] != product.get("demographic"):
            continue
        if rule.get("first_order") and not grounding.get("first_order"):
            continue
        result.append(promo)
    return result


def _promotion(language: str, grounding: dict[str, Any]) -> list[Part]:
    promos = applicable_promotions(grounding)
    product = grounding.get("product") or {}
    title = _title(product, language) if product else ""
    if not promos:
        none = [Part(_t(language, f"There are no promotions that apply to {title or 'that'} right now.", f"現在{title or 'その商品'}に適用できるキャンペーンはありません。"), "fact", [])]
        if grounding.get(f"promotion_rules_{language}") is not None:
            none.append(Part(_t(language, "The codes running at the moment are for other publishers, audiences or first orders.",
                                "現在のコードは、ほかの出版社や対象の作品、初回のご注文向けのものです。"), "detail"))
        return none
    parts = [Part(_t(language, f"Good news: these promotions apply to {title}.", f"{title}に使えるキャンペーンがあります。"), "opening", [title])]
    rules = grounding.get(f"promotion_rules_{language}")
    rich = rules is not None or any(k.startswith("terms_") for p in grounding.get("promotions") or [] for k in p)
    if rich and product.get("publisher"):
        parts.append(Part(_t(language, f"{title} is a {product['publisher']} {product.get('demographic', '')} title.",
                             f"{title}は{product['publisher']}の{product.get('demographic', '')}作品です。"), "detail"))
    for p in promos:
        parts.append(Part(_t(language, f"Use code {p['code']} for {p['text_en']} (until {p['valid_until']}).", f"コード{p['code']}で{p['text_ja']}({p['valid_until']}まで)。"), "fact", [p["code"], p["discount"]]))
        parts += _details(p.get(f"terms_{language}"), language)
    if rich and rules:  # the rules codes follow, in the store's words, instead of the short reminder
        parts += _details(rules, language)
        parts.append(Part(_t(language, "Let me know if you'd like help choosing.", "どれを使うか迷ったら、お気軽にご相談ください。"), "closing"))
    else:
        parts.append(Part(_t(language, "Codes can't be combined; enter one at checkout.", "コードは併用できません。お支払い画面でひとつ入力してください。"), "closing"))
    return parts


OUT_OF_SCOPE_WORDS = ("weather", "stock market", "lottery", "天気", "株価", "宝くじ")


def _chitchat(language: str, query: str) -> list[Part]:
    lowered = query.lower()
    if any(w in lowered for w in OUT_OF_SCOPE_WORDS):
        text = _t(language, "Sorry, I can't help with that: I can only answer questions about manga, your orders and our store.",
                  "申し訳ありません、その件はお答えできません。漫画やご注文、当店に関するご質問にお答えします。")
    elif any(w in lowered for w in ("thank", "ありがと", "thx", "感謝")):
        text = _t(language, "You're welcome! Happy reading!", "どういたしまして!楽しい読書を!")
    elif any(w in lowered for w in ("bye", "see you", "さようなら", "またね", "good night", "おやすみ")):
        text = _t(language, "Goodbye, and happy reading! Come back anytime.", "ありがとうございました。またいつでもお越しください!")
    else:
        text = _t(language, "Hello! I'm MangaAssist. How can I help you find your next manga today?", "こんにちは!MangaAssistです。今日はどんな漫画をお探しですか?")
    return [Part(text, "fact")]


def _return_request(language: str, grounding: dict[str, Any]) -> list[Part]:
    if grounding.get("orders"):
        return _clarify_order(language, grounding["orders"])
    order = grounding.get("order") or {}
    if not order:
        return [Part(_t(language, "I couldn't find that order, so I can't start a return. Could you check the order number?",
                        "そのご注文が見つからないため、返品手続きを開始できません。注文番号をご確認いただけますか?"), "fact")]
    reason = grounding.get("return_reason", "changed_mind")
    days = grounding.get("days_since_delivery", 0)
    order_id = order.get("order_id", "")
    if reason == "damaged":
        return [
            Part(_t(language, f"I'm sorry your order {order_id} arrived damaged.", f"ご注文{order_id}の商品が破損していたとのこと、申し訳ありません。"), "opening", [order_id]),
            Part(_t(language, "Damaged items are replaced or refunded free of charge, and we'll email you a prepaid return label within 24 hours.",
                    "破損した商品は無料で交換または返金いたします。24時間以内に着払い返品ラベルをメールでお送りします。"), "fact", ["24"]),
            *_return_details(language, grounding, "returns-damaged"),
            Part(_t(language, "Would you prefer a replacement or a refund?", "交換と返金のどちらをご希望ですか?"), "closing"),
        ]
    if days <= 30:
        return [
            Part(_t(language, f"Your order {order_id} was delivered {days} days ago, so it is within our 30-day return window.", f"ご注文{order_id}はお届けから{days}日のため、30日以内の返品期間内です。"), "fact", [order_id, "30"]),
            Part(_t(language, "Unopened items can be returned, and the refund goes to your original payment method within 5-7 business days.",
                    "未開封の商品は返品でき、返金は5-7営業日以内に元のお支払い方法へ行われます。"), "fact", ["5-7"]),
            *_return_details(language, grounding, "returns-window"),
            Part(_t(language, "Shall I start the return for you?", "返品手続きを開始しましょうか?"), "closing"),
        ]
    return [
        Part(_t(language, f"Your order {order_id} was delivered {days} days ago, which is past our 30-day return window, so it can't be returned.",
                f"ご注文{order_id}はお届けから{days}日が経過しており、30日の返品期間を過ぎているため返品できません。"), "fact", [order_id, "30"]),
        Part(_t(language, "If the item is damaged, please tell me and I'll arrange a free replacement.", "商品に破損がある場合はお知らせください。無料で交換いたします。"), "closing"),
    ]


def _return_details(language: str, grounding: dict[str, Any], policy_id: str) -> list[Part]:
    """How the return works, from the retrieved help-center chunk of `policy_id` (when the grounding has chunks)."""
    for passage in grounding.get("passages") or []:
        if passage.get("id") == policy_id:
            paragraphs = _chunk_paragraphs(passage, language)
            return _details(paragraphs[1], language) if paragraphs and len(paragraphs) > 1 else []
    return []


def compose(intent: str, language: str, query: str, grounding: dict[str, Any], *, ignore_history: bool = False, passage_index: int = 0) -> Answer:
    """The best answer the grounding supports, as parts (the double degrades these by tier)."""
    if intent == "product_question":
        parts = _product_question(language, query, grounding)
    elif intent == "recommendation":
        parts = _recommendation(language, query, grounding, ignore_history=ignore_history)
    elif intent in ("faq", "checkout_help"):
        parts = _passage_answer(language, grounding, use_passage=passage_index)
    elif intent == "order_tracking":
        parts = _order_tracking(language, grounding)
    elif intent == "promotion":
        parts = _promotion(language, grounding)
    elif intent == "return_request":
        parts = _return_request(language, grounding)
    else:
        parts = _chitchat(language, query)
    attempt = injection.detect(query)
    if attempt:  # refuse the injected instruction, then answer the legitimate part of the message
        parts = [Part(injection.refusal_text(attempt, language), "refusal"), *parts]
    return Answer(parts, language)
