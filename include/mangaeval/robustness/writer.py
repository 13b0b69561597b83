"""Write the robustness set: for golden cases, correct answers in real-model styles and wrong answers with
exactly one error a customer would care about.

Independent of the golden references and the double (mangaeval.answers) and of the scorer: it reads the
grounding itself and words answers with its own phrasings (robustness/phrasing.py). Every row names the
golden case it answers, its style or error class, the text, the expected verdict and its split: `dev`
rows may be looked at while improving the scorer, `heldout` rows only to report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any, Callable

from mangaeval.golden import GoldenCase
from mangaeval.robustness import phrasing as ph

ERROR_CLASSES = ("fresh_wrong_figure", "borrowed_figure", "flipped_negation", "wrong_status", "wrong_fact", "wrong_language")
CARRIERS = ("Yamato Transport", "Sagawa Express", "Japan Post")
ALL_AUTHORS = {"en": ("Eiichiro Oda", "Hajime Isayama", "Naoki Urasawa", "Rumiko Takahashi"), "ja": ("尾田栄一郎", "諫山創", "浦沢直樹", "高橋留美子")}


def _h(*parts: object) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def split_of(test_id: str) -> str:
    return "dev" if _h("split", test_id) % 2 == 0 else "heldout"


_FW = str.maketrans("0123456789,", "０１２３４５６７８９，")


def price(value: int, language: str, fmt: int) -> str:
    """A yen amount the way models write it: ¥1,452 / 1,452円 / １，４５２円 / 1452 yen."""
    if language == "ja":
        return (f"¥{value:,}", f"{value:,}円", f"{value:,}".translate(_FW) + "円")[fmt % 3]
    return (f"¥{value:,}", f"{value:,} yen", f"¥{value}")[fmt % 3]


def rng_text(lo: int, hi: int, language: str, fmt: int) -> str:
    if language == "ja":
        return (f"{lo}-{hi}", f"{lo}〜{hi}", f"{lo}～{hi}")[fmt % 3]
    return (f"{lo}-{hi}", f"{lo} to {hi}", f"{lo}–{hi}")[fmt % 3]


def date_text(iso: str, language: str, fmt: int) -> str:
    d = dt.date.fromisoformat(iso)
    if language == "ja":
        return (iso, f"{d.year}年{d.month}月{d.day}日")[fmt % 2]
    return (iso, d.strftime("%B ") + f"{d.day}, {d.year}")[fmt % 2]


def _shift_date(iso: str, days: int) -> str:
    return (dt.date.fromisoformat(iso) + dt.timedelta(days=days)).isoformat()


def _join(language: str, sentences: list[str]) -> str:
    return ("" if language == "ja" else " ").join(s for s in sentences if s)


def _title(record: dict[str, Any], language: str) -> str:
    return record.get(f"title_{language}") or record["title_en"]


def _author(record: dict[str, Any], language: str) -> str:
    return record.get(f"author_{language}") or record["author_en"]


def _t(language: str, en: str, ja: str) -> str:
    return ja if language == "ja" else en


# ---------------------------------------------------------------- product_question
def _product(case: GoldenCase, style: int, error: str | None) -> str | None:
    products = case.grounding.get("products") or []
    if len(products) != 1:
        return None
    p, lang = products[0], case.language
    focus = next((t.split(":", 1)[1] for t in case.tags if t.startswith("focus:")), "price")
    title, vol = _title(p, lang), p["volume"]
    amount, avail, isbn = p["price_jpy"], p["availability"], p["isbn"]
    count, author = p["volumes_published"], _author(p, lang)
    if error == "fresh_wrong_figure":
        if focus in ("price", "availability"):
            amount += 66
        elif focus == "isbn":
            isbn = isbn[:-3] + str((int(isbn[-3]) + 3) % 10) + isbn[-2:]
        else:
            count += 4
            focus = "volumes"
    elif error == "borrowed_figure":
        if focus != "volumes" or vol == count:
            return None
        count = vol  # this volume's number given as the series' length
    elif error == "wrong_fact":
        others = [a for a in ALL_AUTHORS[lang] if a != author]
        author = others[_h(case.test_id) % len(others)]
        focus = "author"
    elif error in ("flipped_negation", "wrong_status"):
        if focus != "availability":
            return None
        if error == "flipped_negation" and avail == "backorder":
            return None
    elif error == "wrong_language":
        lang = "ja" if lang == "en" else "en"
        title, author = _title(p, lang), _author(p, lang)
    elif error is not None:
        return None
    keigo = lang == "ja" and style % 2 == 0
    lines: list[str] = []
    if focus == "price":
        lines.append(_t(lang, f"{title} volume {vol} is {price(amount, lang, style)} (tax included).",
                        f"{title}第{vol}巻は税込{price(amount, lang, style)}でございます。" if keigo else f"{title}の{vol}巻は{price(amount, lang, style)}(税込)だよ。"))
    elif focus == "availability":
        words = {
            "en": {"in_stock": ["Good news: it's in stock right now.", "It's currently in stock."],
                   "backorder": ["It's on backorder at the moment, so we'd order it in for you.", "It's available on backorder."],
                   "out_of_stock": ["Sorry, it's out of stock at the moment.", "Unfortunately it isn't in stock right now."]},
            "ja": {"in_stock": ["ただいま在庫がございます。", "在庫あるよ!"],
                   "backorder": ["現在お取り寄せでのご案内となります。", "今はお取り寄せになるよ。"],
                   "out_of_stock": ["申し訳ございません、ただいま在庫切れでございます。", "ごめんね、今は在庫がないんだ。"]},
        }[lang]
        if error == "flipped_negation":
            text = {"in_stock": _t(lang, "Sorry, it's not in stock right now.", "申し訳ございません、現在在庫がございません。"),
                    "out_of_stock": _t(lang, "It's not out of stock — you can order it right away.", "在庫切れではございません。すぐにご注文いただけます。")}[avail]
        elif error == "wrong_status":
            wrong = {"in_stock": "out_of_stock", "backorder": "in_stock", "out_of_stock": "in_stock"}[avail]
            text = words[wrong][0]
        else:
            text = words[avail][style % 2]
        lines += [_t(lang, f"About {title} vol. {vol}:", f"{title}第{vol}巻について:"), text]
    elif focus == "isbn":
        lines.append(_t(lang, f"- Title: {title}, volume {vol}\n- ISBN: {isbn}" if style % 2 else f"The ISBN for {title} volume {vol} is {isbn}.",
                        f"{title}第{vol}巻のISBNは{isbn}でございます。" if keigo else f"{title}{vol}巻のISBNは{isbn}だよ。"))
    elif focus == "volumes":
        state = {"completed": _t(lang, "complete", "完結"), "ongoing": _t(lang, "still ongoing", "連載中"), "hiatus": _t(lang, "on hiatus", "休載中")}[p["series_status"]]
        lines.append(_t(lang, f"{title} has {count} volumes out so far, and the series is {state}.",
                        f"{title}は現在{count}巻まで刊行されており、シリーズは{state}でございます。" if keigo else f"{title}は今{count}巻まで出てて、{state}だよ。"))
    elif focus == "author":
        lines.append(_t(lang, f"{title} is written by {author} and published by {p['publisher']}.",
                        f"{title}の作者は{author}先生で、出版社は{p['publisher']}でございます。" if keigo else f"{title}の作者は{author}だよ。出版社は{p['publisher']}。"))
    if style % 3 == 1:
        lines.append(ph.EXTRA[lang][style % 2])
    else:
        lines.append(_t(lang, "Want me to add it to your cart?", "カートにお入れしましょうか?" if keigo else "カートに入れとく?"))
    return _join(lang, lines)


# ---------------------------------------------------------------- order_tracking
STATUS_EN = {"processing": "is still being prepared and hasn't shipped yet", "shipped": "has shipped", "out_for_delivery": "is out for delivery",
             "delivered": "was delivered", "delayed": "is delayed", "cancelled": "was cancelled, so it hasn't shipped"}
STATUS_JA = {"processing": "ただいま準備中で、まだ発送されていません", "shipped": "発送済みです", "out_for_delivery": "配達中です",
             "delivered": "お届け済みです", "delayed": "配送が遅延しております", "cancelled": "キャンセル済みのため、発送されていません"}
FLIPPED_EN = {"processing": "has already shipped", "shipped": "hasn't shipped yet", "out_for_delivery": "is not out for delivery yet",
              "delivered": "hasn't been delivered yet", "delayed": "is not delayed and is on schedule", "cancelled": "was not cancelled"}
FLIPPED_JA = {"processing": "すでに発送されています", "shipped": "まだ発送されていません", "out_for_delivery": "まだ配達に出ていません",
              "delivered": "まだお届けされていません", "delayed": "遅延しておらず予定通りです", "cancelled": "キャンセルされていません"}


def _order(case: GoldenCase, style: int, error: str | None) -> str | None:
    order = case.grounding.get("order")
    if not order or case.grounding.get("orders"):
        return None
    lang, status = case.language, order["status"]
    oid, carrier, tracking = order["order_id"], order.get("carrier", ""), order.get("tracking_number", "")
    eta, delivered, ordered = order.get("estimated_delivery"), order.get("delivered_at"), order.get("ordered_at")
    shown = delivered if status == "delivered" else eta
    words = STATUS_JA if lang == "ja" else STATUS_EN
    status_text = words[status]
    if error == "borrowed_figure":
        if status == "cancelled" or not ordered or ordered == shown:
            return None
        shown = ordered
    elif error == "fresh_wrong_figure":
        if status == "cancelled":
            return None
        shown = _shift_date(shown, 3)
    elif error == "flipped_negation":
        status_text = (FLIPPED_JA if lang == "ja" else FLIPPED_EN)[status]
    elif error == "wrong_status":
        wrong = {"processing": "delivered", "shipped": "cancelled", "out_for_delivery": "processing", "delivered": "cancelled",
                 "delayed": "delivered", "cancelled": "delivered"}[status]
        status_text = words[wrong]
    elif error == "wrong_fact":
        if status in ("cancelled", "processing", "delivered"):
            return None
        carrier = next(c for c in CARRIERS if c != carrier)
    elif error == "wrong_language":
        lang = "ja" if lang == "en" else "en"
        words = STATUS_JA if lang == "ja" else STATUS_EN
        status_text = words[status]
    elif error is not None:
        return None
    date = date_text(shown, lang, style) if shown else ""
    in_transit = status in ("shipped", "out_for_delivery", "delayed")
    if lang == "en":
        if style % 3 == 2:  # markdown card
            label = {"delivered": "Delivered on"}.get(status, "Estimated delivery")
            rows = [f"**Order {oid}**", f"- Status: it {status_text}"]
            if in_transit:
                rows += [f"- Carrier: {carrier}", f"- Tracking number: {tracking}"]
            if status != "cancelled":
                rows.append(f"- {label}: {date}")
            return "\n".join(rows)
        parts = [f"Your order {oid} {status_text}."]
        if in_transit:
            parts.append(f"{carrier} is carrying it (tracking number {tracking}), and it should arrive on {date}.")
        elif status == "processing":
            parts.append(f"The estimated delivery date is {date}.")
        elif status == "delivered":
            parts.append(f"It arrived on {date}.")
        else:
            parts.append("You have not been charged for it.")
        if style % 3 == 1:
            parts.append(ph.EXTRA["en"][0])
        return _join("en", parts)
    keigo = style % 2 == 0
    parts = [f"ご注文{oid}は{status_text}。" if keigo else f"注文{oid}は{status_text}。".replace("です。", "だよ。")]
    if in_transit:
        parts.append(f"{carrier}でお届け中で、追跡番号は{tracking}、お届け予定日は{date}でございます。" if keigo
                     else f"{carrier}で配送中、追跡番号{tracking}、{date}に届く予定だよ。")
    elif status == "processing":
        parts.append(f"お届け予定日は{date}でございます。" if keigo else f"{date}に届く予定だよ。")
    elif status == "delivered":
        parts.append(f"{date}にお届けいたしました。" if keigo else f"{date}に届いてるよ。")
    else:
        parts.append("ご請求は発生しておりません。")
    if style % 3 == 1:
        parts.append(ph.EXTRA["ja"][0])
    return _join("ja", parts)


# ---------------------------------------------------------------- faq / checkout_help
_FIG_RE = re.compile(r"¥(\d[\d,]*)|(\d+)-(\d+)|(\d{1,2}:\d{2})|(\d+)%|(\d+)")


def _policy_figures(text_en: str) -> list[tuple[str, Any]]:
    """The policy's figures in reading order, typed (this writer's own reading of the English passage)."""
    found = []
    for m in _FIG_RE.finditer(text_en):
        if m.group(1):
            found.append(("price", int(m.group(1).replace(",", ""))))
        elif m.group(2):
            found.append(("range", (int(m.group(2)), int(m.group(3)))))
        elif m.group(4):
            found.append(("time", m.group(4)))
        elif m.group(5):
            found.append(("percent", int(m.group(5))))
        else:
            found.append(("number", int(m.group(6))))
    return found


def _render_fig(kind: str, value: Any, language: str, style: int) -> str:
    if kind == "price":
        return price(value, language, style)
    if kind == "range":
        return rng_text(value[0], value[1], language, style)
    if kind == "percent":
        return f"{value}%"
    return str(value)


def _policy(case: GoldenCase, style: int, error: str | None) -> str | None:
    passages = case.grounding.get("passages") or []
    if not passages:
        return None
    top, lang = passages[0], case.language
    if top.get("score", 1.0) < 0.5:  # nothing relevant retrieved: the right answer declines
        if error == "wrong_language":
            return ph.NOT_COVERED["ja" if lang == "en" else "en"][0]
        if error == "wrong_fact":
            return _t(lang, "Yes, that's no problem at all — we can do that for you free of charge.", "はい、問題なく無料で対応いたします。")
        return None if error else ph.NOT_COVERED[lang][style % 2]
    policy = ph.POLICIES.get(top["id"])
    if policy is None:
        return None
    figures = [(k, v) for k, v in _policy_figures(top["text_en"]) if not (k == "price" and v == 1 and top["id"] == "points")]
    figures = figures[: len(policy["slots"])]
    if error == "wrong_language":
        lang = "ja" if lang == "en" else "en"
    values = [v for _, v in figures]
    if error == "fresh_wrong_figure":
        if not figures:
            return None
        i = _h(case.test_id, "fig") % len(figures)
        kind, v = figures[i]
        values[i] = {"price": lambda x: x + 100, "range": lambda x: (x[0] + 1, x[1] + 3), "number": lambda x: x + 4,
                     "time": lambda x: "16:00" if x != "16:00" else "12:00", "percent": lambda x: x + 4}[kind](v)
    elif error == "borrowed_figure":
        others = []
        for other in passages[1:]:
            for kind, v in _policy_figures(other.get("text_en", "")):
                others.append((kind, v))
        swap = next(((i, v2) for i, (k, v) in enumerate(figures) for k2, v2 in others if k2 == k and v2 != v), None)
        if swap is None:
            return None
        values[swap[0]] = swap[1]
    fmt = style if lang == case.language else 0
    rendered = [_render_fig(k, v, lang, fmt) for (k, _), v in zip(figures, values)]
    variant = policy[lang][style % 2]
    if error == "flipped_negation":
        body = policy["flip"][1 if lang == "ja" else 0]
    elif error == "wrong_fact":
        body = policy["wrong"][1 if lang == "ja" else 0]
    elif error in (None, "fresh_wrong_figure", "borrowed_figure", "wrong_language"):
        body = variant
    else:
        return None
    body = body.format(*rendered)
    opening = _t(lang, ("Sure!", "Good question.", "")[style % 3], ("かしこまりました。", "", "お問い合わせありがとうございます。")[style % 3])
    extra = ph.EXTRA[lang][style % 2] if style % 4 == 1 else ""
    return _join(lang, [opening, body, extra]).strip()


# ---------------------------------------------------------------- promotion
def _promo_line(p: dict[str, Any], title: str, lang: str, style: int, valid: str | None = None, discount: str | None = None) -> str:
    valid = date_text(valid or p["valid_until"], lang, style)
    discount = discount or p["discount"]
    if discount.startswith("¥"):
        discount = price(int(discount[1:].replace(",", "")), lang, style)
    minimum = price(p["min_order_jpy"], lang, style) if p.get("min_order_jpy") else ""
    if lang == "en":
        cond = f" on orders of {minimum} or more" if minimum else ""
        if style % 2:
            return f"- **{p['code']}**: {discount} off{cond} (valid until {valid})"
        return f"You can use code {p['code']} for {discount} off{cond}; it's valid until {valid}."
    cond = f"{minimum}以上のご注文で" if minimum else ""
    if style % 2:
        return f"・{p['code']}:{cond}{discount}引き({valid}まで)"
    return f"コード「{p['code']}」をご利用いただくと、{cond}{discount}お得になります。有効期限は{valid}まででございます。"


def _promotion(case: GoldenCase, style: int, error: str | None) -> str | None:
    g = case.grounding
    product = g.get("product") or {}
    promos = {p["code"]: p for p in g.get("promotions") or []}
    codes = [c for c in case.must_contain if c in promos]
    if not product or case.tags and any(t.startswith("injection:") for t in case.tags):
        return None
    lang = case.language
    if error == "wrong_language":
        lang = "ja" if lang == "en" else "en"
    title = _title(product, lang)
    if not codes:
        if error == "wrong_fact":
            wrong = next(iter(promos.values()), None)
            if not wrong:
                return None
            return _join(lang, [_t(lang, f"Yes, there's a deal for {title}!", f"{title}に使えるクーポンがございます。"), _promo_line(wrong, title, lang, style)])
        if error not in (None, "wrong_language"):
            return None
        return _t(lang, f"Sorry, there aren't any coupons that apply to {title} right now. I'll be happy to check again if you're looking at another title.",
                  f"申し訳ございません、現在{title}にご利用いただけるクーポンはございません。")
    lines = []
    for i, code in enumerate(codes):
        p = promos[code]
        valid, discount = None, None
        if i == 0 and error == "borrowed_figure":
            valid = next((o["valid_until"] for o in promos.values() if o["valid_until"] != p["valid_until"]), None)
            if valid is None:
                return None
        if i == 0 and error == "fresh_wrong_figure":
            discount = f"{int(p['discount'][:-1]) + 10}%" if p["discount"].endswith("%") else "¥800"
        lines.append(_promo_line(p, title, lang, style, valid, discount))
    if error == "wrong_fact":
        extra = next((c for c in promos if c not in codes), None)
        if extra is None:
            return None
        lines.append(_promo_line(promos[extra], title, lang, style))
    if error == "flipped_negation":
        lines = [_t(lang, f"Unfortunately, code {codes[0]} can't be used for {title}.", f"申し訳ございません、{title}にはコード{codes[0]}はご利用いただけません。")]
    if error in ("wrong_status",):
        return None
    head = _t(lang, f"Good news — here's what you can use on {title}:" if style % 2 else f"Yes, there's a deal for {title}.",
              f"{title}にご利用いただけるクーポンはこちらです。" if style % 2 else f"{title}にお使いいただけるクーポンがございます。")
    tail = _t(lang, "Just enter one code at checkout.", "お支払い画面でコードを1つご入力ください。")
    sep = "\n" if style % 2 else ("" if lang == "ja" else " ")
    return sep.join([head, *lines, tail]) if error != "flipped_negation" else lines[0]


# ---------------------------------------------------------------- recommendation
def _recommendation(case: GoldenCase, style: int, error: str | None) -> str | None:
    g = case.grounding
    history, candidates = g.get("browsing_history") or [], g.get("candidates") or []
    if not history or len(candidates) < 3 or not case.must_contain or any(t.startswith("injection:") for t in case.tags):
        return None
    by_title = {c["title_en"]: c for c in candidates} | {c["title_ja"]: c for c in candidates}
    top = by_title.get(case.must_contain[0])
    if top is None:
        return None
    liked = {x for h in history for x in h.get("genres", [])}
    seen = {h["series_id"] for h in history}
    pool = [c for c in candidates if c["series_id"] not in seen and c is not top]
    related = sorted((c for c in pool if liked & set(c["genres"])), key=lambda c: (-len(liked & set(c["genres"])), c["series_id"]))
    unrelated = [c for c in pool if not liked & set(c["genres"])]
    lang = case.language
    if error == "wrong_language":
        lang = "ja" if lang == "en" else "en"
    picks = [dict(top)] + ([dict(related[0])] if related else [])
    if error == "borrowed_figure":
        other = next((c for c in candidates if c["price_jpy"] != top["price_jpy"]), None)
        if other is None:
            return None
        picks[0]["price_jpy"] = other["price_jpy"]
    elif error == "fresh_wrong_figure":
        picks[0]["volumes_published"] += 5
    elif error == "wrong_fact":
        if style % 2 and unrelated:  # a pick unrelated to what they browsed, presented as if it were
            picks = [dict(unrelated[0])]
        else:
            other = next((c for c in candidates if _author(c, lang) != _author(top, lang)), None)
            if other is None:
                return None
            picks[0][f"author_{lang}"] = _author(other, lang)
            picks[0]["author_en"] = other["author_en"]
    elif error is not None and error != "wrong_language":
        return None
    seen_titles = [_title(h, lang) for h in history[:2]]
    if lang == "en":
        head = (f"Since you've been reading {' and '.join(seen_titles)}, here {'are' if len(picks) > 1 else 'is'} {len(picks)} series you might enjoy:" if style % 2
                else f"Based on your interest in {seen_titles[0]}, I'd suggest these:")
        items = [(f"{i + 1}. **{_title(c, 'en')}** by {_author(c, 'en')} — {', '.join(c['genres'][:2])}; {c['volumes_published']} volumes, {price(c['price_jpy'], 'en', style)} each"
                  if style % 2 else f"- {_title(c, 'en')} ({_author(c, 'en')}): {c['volumes_published']} volumes at {price(c['price_jpy'], 'en', style)} per volume")
                 for i, c in enumerate(picks)]
        tail = "Would you like more details on either?"
        return "\n".join([head, *items, tail])
    keigo = style % 2 == 0
    head = (f"{'や'.join(seen_titles)}をお読みになっているお客様には、こちらの{len(picks)}作品がおすすめでございます。" if keigo
            else f"{seen_titles[0]}が好きなら、これとかどう?")
    items = [f"{i + 1}. {_title(c, 'ja')}({_author(c, 'ja')})全{c['volumes_published']}巻・1冊{price(c['price_jpy'], 'ja', style)}" for i, c in enumerate(picks)]
    tail = "気になる作品がございましたら詳しくご案内いたします。" if keigo else "気になるのあったら教えてね!"
    return "\n".join([head, *items, tail])


# ---------------------------------------------------------------- return_request
def _returns(case: GoldenCase, style: int, error: str | None) -> str | None:
    g = case.grounding
    order = g.get("order")
    if not order or g.get("orders") or any(t.startswith("injection:") for t in case.tags):
        return None
    lang, oid = case.language, order["order_id"]
    if error == "wrong_language":
        lang = "ja" if lang == "en" else "en"
    reason, days = g.get("return_reason", "changed_mind"), g.get("days_since_delivery", 0)
    window, refund, label = 30, (5, 7), 24
    if reason == "damaged":
        label_text = f"{label} hours" if lang == "en" else f"{label}時間"
        if error == "borrowed_figure":
            label_text = _t(lang, f"{rng_text(*refund, lang, style)} business days", f"{rng_text(*refund, lang, style)}営業日")
        elif error == "fresh_wrong_figure":
            label_text = _t(lang, "72 hours", "72時間")
        if error == "flipped_negation":
            return _t(lang, f"I'm sorry order {oid} arrived damaged, but damaged items can't be replaced or refunded free of charge.",
                      f"ご注文{oid}の破損、申し訳ございません。ただ、破損品の無料交換・返金はできかねます。")
        if error == "wrong_fact":
            return _t(lang, f"Sorry order {oid} arrived damaged. We can replace it, but you'll need to pay the return postage yourself.",
                      f"ご注文{oid}の破損、申し訳ございません。交換は可能ですが、返送料はお客様のご負担となります。")
        if error == "wrong_status":
            return _t(lang, f"Order {oid} hasn't been delivered yet, so there's nothing to return at the moment.",
                      f"ご注文{oid}はまだお届けされていないため、現時点では返品の対象外でございます。")
        if lang == "en":
            return (f"I'm so sorry order {oid} arrived damaged! We'll replace it or refund you at no cost, and a prepaid return label "
                    f"will be emailed to you within {label_text}. Would you like a replacement or a refund?")
        return f"ご注文{oid}の商品が破損していたとのこと、大変申し訳ございません。無料で交換または返金いたします。{label_text}以内に着払いの返品ラベルをメールでお送りしますので、交換・返金のどちらがよろしいかお知らせください。"
    within = days <= window
    if error == "fresh_wrong_figure":
        window = 14 if days > 14 else 60
    if error == "borrowed_figure":
        if not within:
            return None
        refund_text = _t(lang, f"within {label} hours", f"{label}時間以内")
    else:
        refund_text = _t(lang, f"in {rng_text(*refund, lang, style)} business days", f"{rng_text(*refund, lang, style)}営業日以内")
    if error == "flipped_negation":
        within = not within
    if error == "wrong_status":
        return _t(lang, f"Order {oid} hasn't been delivered yet, so you can simply cancel it instead of returning it.",
                  f"ご注文{oid}はまだ発送されていないため、返品ではなくキャンセルが可能です。")
    if error == "wrong_fact":
        if not within:
            return None
        return _t(lang, f"Order {oid} arrived {days} days ago, so it's within the {window}-day window. Returns are refunded as store credit only.",
                  f"ご注文{oid}はお届けから{days}日なので、{window}日の返品期間内です。返金はストアポイントのみとなります。")
    if within:
        if lang == "en":
            return (f"Order {oid} was delivered {days} days ago, so you're still inside our {window}-day return window. "
                    f"Unopened items can be sent back, and the refund goes to your original payment method {refund_text}. Shall I start the return?")
        return (f"ご注文{oid}はお届けから{days}日でございますので、{window}日間の返品期間内です。未開封の商品であれば返品いただけ、"
                f"ご返金は{refund_text}に元のお支払い方法へ行われます。返品手続きを進めてもよろしいでしょうか?")
    if lang == "en":
        return (f"Unfortunately order {oid} was delivered {days} days ago, which is past our {window}-day return window, so it can't be returned. "
                "If anything arrived damaged, though, let me know and we'll replace it free of charge.")
    return (f"申し訳ございません、ご注文{oid}はお届けから{days}日が経過しており、{window}日間の返品期間を過ぎているため返品をお受けできません。"
            "破損がございましたら無料で交換いたしますのでお知らせください。")


# ---------------------------------------------------------------- chitchat
def chitchat_kind(query: str) -> str | None:
    q = query.lower()
    if any(w in q for w in ("weather", "stock market", "lottery", "天気", "株価", "宝くじ")):
        return "out_of_scope"
    if any(w in q for w in ("thank", "thx", "ありがと", "感謝")):
        return "thanks"
    if any(w in q for w in ("bye", "see you", "good night", "さようなら", "またね", "おやすみ")):
        return "bye"
    if any(w in q for w in ("hello", "hi", "hey", "good morning", "こんにちは", "こんばんは", "おはよう", "やあ")):
        return "greeting"
    return None


def _chitchat(case: GoldenCase, style: int, error: str | None) -> str | None:
    kind = chitchat_kind(case.query)
    if kind is None:
        return None
    lang = case.language
    if error is None:
        return ph.CHITCHAT[kind][lang][style % 3]
    if error == "wrong_language":
        return ph.CHITCHAT[kind]["ja" if lang == "en" else "en"][style % 3]
    if error == "wrong_fact":
        return ph.CHITCHAT_WRONG_ACT[kind][lang]
    if error == "fresh_wrong_figure":
        return ph.CHITCHAT_INVENTED[lang]
    return None


WRITERS: dict[str, Callable[[GoldenCase, int, str | None], str | None]] = {
    "product_question": _product, "order_tracking": _order, "faq": _policy, "checkout_help": _policy,
    "promotion": _promotion, "recommendation": _recommendation, "return_request": _returns, "chitchat": _chitchat,
}
STYLE_NAMES = ("plain", "markdown_or_keigo", "reordered_or_casual", "extra_sentence")


def write_rows(cases: list[GoldenCase], per_intent: int = 40) -> list[dict[str, Any]]:
    """Per intent, up to `per_intent` cases (in a hash order), each answered once correctly and once wrongly."""
    rows: list[dict[str, Any]] = []
    by_intent: dict[str, list[GoldenCase]] = {}
    for case in cases:
        by_intent.setdefault(case.intent, []).append(case)
    for intent, intent_cases in sorted(by_intent.items()):
        write = WRITERS[intent]
        used = 0
        for case in sorted(intent_cases, key=lambda c: _h("order", c.test_id)):
            if used >= per_intent:
                break
            style = _h("style", case.test_id) % 6
            correct = write(case, style, None)
            if not correct:
                continue
            wrongs: list[tuple[str, str]] = []  # two error classes per case, rotating, so every class is represented
            start = _h("error", case.test_id) % len(ERROR_CLASSES)
            for k in range(len(ERROR_CLASSES)):
                error = ERROR_CLASSES[(start + k) % len(ERROR_CLASSES)]
                wrong = write(case, style, error)
                if wrong and wrong != correct:
                    wrongs.append((error, wrong))
                if len(wrongs) == 2:
                    break
            used += 1
            split = split_of(case.test_id)
            rows.append({"test_id": case.test_id, "intent": intent, "language": case.language, "kind": "correct",
                         "style": STYLE_NAMES[style % 4], "answer": correct, "expected": "pass", "split": split})
            for error, wrong in wrongs:
                rows.append({"test_id": case.test_id, "intent": intent, "language": case.language, "kind": error,
                             "style": STYLE_NAMES[style % 4], "answer": wrong, "expected": "fail", "split": split})
    return rows
