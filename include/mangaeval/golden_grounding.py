"""Grounding sized like production, for golden dataset v2 (`golden_generator --recipe v2`; issue 16, part 6a).

v1's prompts carried a few hundred input tokens where production's carry 800-2,200 (MISSION.md's per-intent
figures): one-sentence policy passages where the live bot retrieves five help-center chunks, bare catalog rows
where its recommender and product APIs send blurbs and neighbouring volumes, an order row where the order API
sends items and tracking events. These builders return what the live bot sends, per the customer's locale
(the bot reads the help center and blurbs in the customer's language), from include/store_data/.

Everything is drawn from the caller's seeded random stream, so datasets stay reproducible byte for byte.
"""

from __future__ import annotations

import random
from typing import Any

from mangaeval import store

FAQ_PASSAGES = 5  # the live bot's retriever returns five chunks (MISSION.md, token-efficiency study)
RECOMMENDER_CANDIDATES = 11
ALSO_BOUGHT = 7
PAYMENT_METHODS = {"en": ["credit card", "PayPay", "PayPal", "konbini", "cash on delivery"],
                   "ja": ["クレジットカード", "PayPay", "PayPal", "コンビニ払い", "代金引換"]}
PREFECTURES = {"en": ["Tokyo", "Osaka", "Kanagawa", "Aichi", "Fukuoka", "Hokkaido", "Kyoto", "Hyogo", "Saitama", "Chiba", "Miyagi", "Hiroshima"],
               "ja": ["東京都", "大阪府", "神奈川県", "愛知県", "福岡県", "北海道", "京都府", "兵庫県", "埼玉県", "千葉県", "宮城県", "広島県"]}
DEPOTS = {"en": ["Shibuya depot", "Namba depot", "Yokohama depot", "Nagoya depot", "Hakata depot", "Sapporo depot"],
          "ja": ["渋谷営業所", "難波営業所", "横浜営業所", "名古屋営業所", "博多営業所", "札幌営業所"]}
# Tracking events per order status, oldest first: (day offset from the order date, event key). Wording never
# uses another status's words (the scorer reads "arrived" as delivered, "発送" as shipped).
EVENTS = {
    "processing": [(0, "received"), (0, "paid"), (0, "picking")],
    "cancelled": [(0, "received"), (0, "paid"), (0, "cancelled")],
    "shipped": [(0, "received"), (0, "paid"), (0, "picking"), (1, "packed"), (1, "handed_over"), (1, "left_hub"), (2, "in_transit")],
    "delayed": [(0, "received"), (0, "paid"), (0, "picking"), (1, "packed"), (1, "handed_over"), (1, "left_hub"), (2, "delayed")],
    "out_for_delivery": [(0, "received"), (0, "paid"), (0, "picking"), (1, "packed"), (1, "handed_over"), (1, "left_hub"), (2, "in_transit"),
                         (None, "at_depot"), (None, "out_for_delivery")],
    "delivered": [(0, "received"), (0, "paid"), (0, "picking"), (1, "packed"), (1, "handed_over"), (1, "left_hub"), (None, "at_depot"),
                  (None, "out_for_delivery"), (None, "delivered")],
}
EVENT_TEXT = {
    "received": {"en": "Order received", "ja": "ご注文を受け付けました"},
    "paid": {"en": "Payment confirmed, order is being prepared", "ja": "お支払いを確認し、準備中です"},
    "picking": {"en": "Items picked from the shelves at our Saitama warehouse", "ja": "埼玉の倉庫で商品をピッキングしました"},
    "packed": {"en": "Order packed and labelled", "ja": "梱包とラベル貼付が完了しました"},
    "in_transit": {"en": "Parcel in transit between {carrier} hubs", "ja": "{carrier}の拠点間を輸送中です"},
    "handed_over": {"en": "Parcel handed to {carrier} at our Saitama warehouse", "ja": "埼玉の倉庫から{carrier}に引き渡しました"},
    "left_hub": {"en": "Parcel left the {carrier} sorting hub and is on its way", "ja": "{carrier}の仕分け拠点を出発し、輸送中です"},
    "delayed": {"en": "Delivery delayed at the sorting hub because of heavy parcel volumes", "ja": "荷物の集中により仕分け拠点で遅延しています"},
    "at_depot": {"en": "Parcel reached the {depot}", "ja": "{depot}に到着しました"},
    "out_for_delivery": {"en": "Out for delivery from the {depot}", "ja": "{depot}から配達中です"},
    "delivered": {"en": "Delivered to the front door", "ja": "玄関前に配達完了しました"},
    "cancelled": {"en": "Order cancelled at the customer's request", "ja": "お客様のご依頼によりキャンセルしました"},
}
EVENT_TIMES = ["07:55", "08:40", "09:15", "10:05", "11:30", "12:25", "13:20", "14:45", "16:10", "17:35", "18:20", "19:50"]
EVENT_PLACES = {"received": "online", "paid": "online", "picking": "warehouse", "packed": "warehouse", "handed_over": "warehouse",
                "left_hub": "hub", "in_transit": "hub", "delayed": "hub", "at_depot": "depot", "out_for_delivery": "depot", "delivered": "door",
                "cancelled": "online"}
PLACE_NAMES = {"online": {"en": "Online store", "ja": "オンラインストア"}, "warehouse": {"en": "Saitama warehouse", "ja": "埼玉倉庫"},
               "hub": {"en": "{carrier} Kanto sorting hub", "ja": "{carrier} 関東仕分け拠点"}, "depot": {"en": "{depot}", "ja": "{depot}"},
               "door": {"en": "Delivery address", "ja": "お届け先"}}
TIME_WINDOWS = {"en": ["any time", "morning", "14:00-16:00", "18:00-20:00", "19:00-21:00"], "ja": ["指定なし", "午前中", "14:00-16:00", "18:00-20:00", "19:00-21:00"]}
CARRIER_JA = {"Yamato Transport": "ヤマト運輸", "Sagawa Express": "佐川急便", "Japan Post": "日本郵便"}


def _policy(policy_id: str) -> dict[str, Any]:
    return next(p for p in store.policies() if p["id"] == policy_id)


def help_chunk(policy_id: str, language: str, score: float) -> dict[str, Any]:
    """One retrieved help-center chunk in the customer's locale: the policy statement, its details and related
    information, one paragraph each (the answer writer reads the first two)."""
    policy = _policy(policy_id)
    article = store.help_center()[policy_id]
    text = "\n\n".join((policy[f"text_{language}"], article[f"details_{language}"], article[f"related_{language}"]))
    return {"id": policy_id, "topic": policy["topic"], "title": article[f"title_{language}"], "source": f"help-center/{policy_id}",
            f"text_{language}": text, "figures": list(policy["figures"]), "score": score}


def retrieved_chunks(rng: random.Random, primary: str | None, language: str, k: int = FAQ_PASSAGES) -> list[dict[str, Any]]:
    """The retriever's top `k`, best first: the relevant chunk (if any) scored high, then distractors scored low
    (with no relevant chunk, every score is low: the question is one the help center does not cover)."""
    pool = [p["id"] for p in store.policies() if p["id"] != primary]
    distractors = rng.sample(pool, k=k - (1 if primary else 0))
    scored = [(round(rng.uniform(0.2, 0.48), 2), pid) for pid in distractors]
    scored.sort(key=lambda t: (-t[0], t[1]))
    chunks = [help_chunk(primary, language, round(rng.uniform(0.78, 0.95), 2))] if primary else []
    return chunks + [help_chunk(pid, language, score) for score, pid in scored]


def series_card(series: store.Series, language: str) -> dict[str, Any]:
    """A catalog record with the series' status and the blurb in the customer's locale (recommender candidates,
    also-bought lists)."""
    return {**store.series_record(series), "status": series.status,
            f"synopsis_{language}": store.series_details()[series.id][f"synopsis_{language}"]}


def product_page(rng: random.Random, series: store.Series, volume: int, language: str) -> dict[str, Any]:
    """What the product API returns for a product question: the volume, its series with the blurb, the
    neighbouring volumes and what other customers bought."""
    record = {**store.product_record(series, volume), "format": "tankobon", "edition": "Japanese edition"}
    nearby = [v for v in range(max(1, volume - 2), min(series.volumes, volume + 2) + 1) if v != volume]
    others = [s for s in store.catalog().values() if s.id != series.id]
    return {
        "products": [record],
        "series": {"series_id": series.id, "status": series.status, "volumes_published": series.volumes, "genres": list(series.genres),
                   "demographic": series.demographic, f"synopsis_{language}": store.series_details()[series.id][f"synopsis_{language}"]},
        "other_volumes": [{"volume": v, "isbn": store.isbn13(series, v), "price_jpy": series.price_jpy,
                           "availability": store.availability(series, v)} for v in nearby],
        "also_bought": [series_card(s, language) for s in rng.sample(others, ALSO_BOUGHT)],
    }


def _item(series: store.Series, volume: int, quantity: int = 1) -> dict[str, Any]:
    """An order line as the order API returns it."""
    return {"series_id": series.id, "title_en": series.title_en, "title_ja": series.title_ja, "volume": volume, "quantity": quantity,
            "price_jpy": series.price_jpy, "isbn": store.isbn13(series, volume), "publisher": series.publisher}


def order_details(rng: random.Random, order: dict[str, Any], language: str) -> dict[str, Any]:
    """The order API's full record: the order of `golden_generator._order` with its lines in full and maybe more of
    them, the shipping method, destination region and delivery preferences, payment and totals, every tracking
    scan in the customer's locale, and the customer's other recent orders (as the account page lists them)."""
    order = dict(order)
    catalog = list(store.catalog().values())
    by_title = {s.title_en: s for s in catalog}
    items = [_item(by_title[i["title_en"]], i["volume"], i["quantity"]) for i in order["items"]]
    for series in rng.sample(catalog, rng.choice((0, 0, 1, 2))):
        items.append(_item(series, rng.randint(1, series.volumes), rng.choice((1, 1, 2))))
    subtotal = sum(i["price_jpy"] * i["quantity"] for i in items)
    method = rng.choice(("standard", "standard", "express"))
    fee = 800 if method == "express" else (0 if subtotal >= 3500 else 500)
    day0 = int(order["ordered_at"][-2:])
    eta = int(order["estimated_delivery"][-2:])
    delivered = int(order["delivered_at"][-2:]) if order.get("delivered_at") else None
    carrier = order["carrier"] if language == "en" else CARRIER_JA[order["carrier"]]
    depot = rng.choice(DEPOTS[language])
    times = sorted(rng.sample(EVENT_TIMES, len(EVENTS[order["status"]])))
    events = []
    for (offset, key), time in zip(EVENTS[order["status"]], times):
        if offset is None:  # the last leg: on the delivery day, else on the estimated day
            day = delivered or eta
        else:
            day = day0 + offset
        text = EVENT_TEXT[key][language].format(carrier=carrier, depot=depot)
        place = PLACE_NAMES[EVENT_PLACES[key]][language].format(carrier=carrier, depot=depot)
        events.append({"time": f"2026-11-{day:02d} {time}", "code": key.upper(), "location": place, f"event_{language}": text})
    recent = [{"order_id": f"MA-{rng.randint(100000, 999999)}", "ordered_at": f"2026-10-{rng.randint(1, 28):02d}", "status": "delivered",
               "items": rng.randint(1, 4)} for _ in range(rng.choice((1, 2, 3)))]
    order.update({
        "items": items, "shipping_method": method, "ship_to_region": rng.choice(PREFECTURES[language]),
        "delivery_preferences": {"time_window": rng.choice(TIME_WINDOWS[language]), "leave_at_door": rng.random() < 0.4},
        "payment_method": rng.choice(PAYMENT_METHODS[language]), "subtotal_jpy": subtotal, "shipping_fee_jpy": fee,
        "total_jpy": subtotal + fee, "tracking_events": events, "recent_orders": recent,
    })
    return order


def promotion_page(series: store.Series, language: str, first_order: bool) -> dict[str, Any]:
    """The promotions API's answer for a product page: the product with its blurb, every live promotion with its
    terms in the customer's locale, whether this is the customer's first order, and the rules codes follow."""
    terms, rules = store.promotion_terms()
    product = {**store.series_record(series), "publisher": series.publisher,
               f"synopsis_{language}": store.series_details()[series.id][f"synopsis_{language}"]}
    promotions = [{**p, f"terms_{language}": terms[p["code"]][f"terms_{language}"]} for p in store.promotions()]
    return {"product": product, "promotions": promotions, "first_order": first_order, f"promotion_rules_{language}": rules[language]}
