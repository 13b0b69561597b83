"""A generated production conversation log (JSON Lines rows in the default mapping's columns) with planted
personal data of every kind the redactor handles, English and Japanese, and non-personal tokens (titles,
prices, volume numbers, ISBNs, the case's own order id and tracking number) that must survive.

Used by benchmarks/redaction_bench.py and the import tests. Clearly synthetic: the names, numbers and
addresses are made up (card numbers are Luhn-valid test-style numbers).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from mangaeval.intents import intent_names
from mangaeval.store import catalog, isbn13

FIRST_EN = ["John", "Emily", "Michael", "Sarah", "David", "Olivia", "James", "Hannah", "Robert", "Grace"]
LAST_EN = ["Smith", "Johnson", "Brown", "Taylor", "Wilson", "O'Neil", "Garcia", "McKenzie", "Lee", "Harper-Jones"]
LAST_JA = ["田中", "佐藤", "鈴木", "高橋", "渡辺", "伊藤", "山本", "中村", "小林", "加藤"]
FIRST_JA = ["太郎", "花子", "健", "美咲", "翔太", "さくら", "大輔", "陽菜"]
KATA_JA = ["タナカ", "サトウ", "スズキ", "ヤマダ"]
DOMAINS = ["example.com", "mail.example.co.jp", "docomo.ne.jp", "gmail.com", "corp.example.org"]
FW = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        digits = body + check
        total = sum((int(d) * 2 - 9 if int(d) * 2 > 9 else int(d) * 2) if i % 2 else int(d)
                    for i, d in enumerate(reversed(digits)))
        if total % 10 == 0:
            return digits
    raise AssertionError


def _d(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


@dataclass
class Plant:
    kind: str
    text: str  # as written into the turn
    parts: list[str]  # the identifying substrings: removed when none of them is left


def plant(kind: str, rng: random.Random) -> Plant:
    if kind == "email":
        user = rng.choice([f"{rng.choice(FIRST_EN).lower()}.{rng.choice(LAST_EN).lower().replace(chr(39), '')}",
                           f"user{_d(rng, 4)}", f"{rng.choice(FIRST_EN).lower()}+manga{_d(rng, 2)}"])
        text = f"{user}@{rng.choice(DOMAINS)}"
        return Plant(kind, text, [text, user])
    if kind == "phone_ja":
        a, b, c = _d(rng, 4), _d(rng, 4), _d(rng, 3)
        text = rng.choice([f"090-{a}-{b}", f"080{a}{b}", f"03-{a}-{b}", f"06 {a} {b}", f"+81 90-{a}-{b}",
                           f"(03){a}-{b}", f"0120-{c}-{a[:3]}", f"070-{a}-{b}".translate(FW), f"+81-3-{a}-{b}"])
        return Plant(kind, text, [text, a + "-" + b, a + b, a + " " + b] if "0120" not in text else [text, f"{c}-{a[:3]}"])
    if kind == "phone_intl":
        a, b = _d(rng, 3), _d(rng, 4)
        text = rng.choice([f"+1 415 {a} {b}", f"(415) {a}-{b}", f"415-{a}-{b}", f"+44 20 {b} {a}{b[0]}",
                           f"+1-212-{a}-{b}"])
        return Plant(kind, text, [text, f"{a} {b}", f"{a}-{b}", f"{b} {a}"])
    if kind == "address_ja":
        code = f"{rng.randint(100, 999)}-{_d(rng, 4)}"
        block = rng.choice([f"{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
                            f"{rng.randint(1, 9)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"])
        place = rng.choice(["東京都渋谷区神宮前", "大阪府大阪市北区梅田", "神奈川県横浜市中区山下町", "北海道札幌市中央区北一条西",
                            "福岡県福岡市博多区博多駅前", "京都府京都市左京区下鴨"])
        text = rng.choice([f"〒{code} {place}{block}", f"〒{code}", f"{place}{block}", f"〒{code}{place}{block}"])
        return Plant(kind, text, [p for p in (code, block if place in text else None) if p])
    if kind == "address_en":
        num = str(rng.randint(1, 9999))
        street = rng.choice(["Baker Street", "Elm St", "Pennsylvania Avenue", "Maple Road", "Sunset Blvd",
                             "Cherry Lane", "Oak Drive"])
        text = rng.choice([f"{num} {street}", f"{num} {street}, Apt {rng.randint(1, 40)}, Springfield",
                           f"{num} {street}, Portland, OR {_d(rng, 5)}", f"{num} {street}, London"])
        return Plant(kind, text, [f"{num} {street}"] + ([text.rsplit(" ", 1)[1]] if " OR " in text else []))
    if kind == "name_en":
        hon = rng.choice(["Mr.", "Ms.", "Mrs.", "Dr.", "Mr", "Ms"])
        name = rng.choice([rng.choice(LAST_EN), f"{rng.choice(FIRST_EN)} {rng.choice(LAST_EN)}"])
        return Plant(kind, f"{hon} {name}", [name.split()[-1]])
    if kind == "name_ja":
        name = rng.choice([rng.choice(LAST_JA), rng.choice(LAST_JA) + rng.choice(FIRST_JA[:1] + FIRST_JA[2:4]),
                           f"{rng.choice(LAST_JA)} {rng.choice(FIRST_JA)}", rng.choice(KATA_JA)])
        hon = rng.choice(["様", "さん", "殿"])
        return Plant(kind, name + hon, [name])
    if kind == "card":
        number = rng.choice([_luhn_complete(rng, "4", 16), _luhn_complete(rng, "5", 16), _luhn_complete(rng, "35", 16),
                             _luhn_complete(rng, "37", 15)])
        style = rng.randrange(3)
        if len(number) == 15:
            text = [number, f"{number[:4]} {number[4:10]} {number[10:]}", f"{number[:4]}-{number[4:10]}-{number[10:]}"][style]
        else:
            groups = [number[i:i + 4] for i in range(0, 16, 4)]
            text = [number, " ".join(groups), "-".join(groups)][style]
        return Plant(kind, text, [text, number, number[-8:]] if style == 0 else [text, number])
    if kind == "tracking":
        digits = _d(rng, 12)
        text = rng.choice([digits, f"{digits[:4]}-{digits[4:8]}-{digits[8:]}", "1Z" + rng.choice(["A1", "X9", "E4"]) + _d(rng, 4) + "03" + _d(rng, 8)])
        return Plant(kind, text, [text])
    if kind == "order_id":
        text = rng.choice([f"MA-{_d(rng, 6)}", f"ORD-{_d(rng, 8)}", f"{_d(rng, 3)}-{_d(rng, 7)}-{_d(rng, 7)}"])
        return Plant(kind, text, [text])
    raise ValueError(kind)


KINDS = ("email", "phone_ja", "phone_intl", "address_ja", "address_en", "name_en", "name_ja", "card", "tracking",
         "order_id")
EN_FRAMES = ["Hi, this is {p}. Is {t} volume {v} ({isbn}) still {price}?", "{p} here - I ordered {t} vol. {v} for {price}.",
             "Please send {t} Volume {v} to me, contact: {p}", "Can you check {own}? My details: {p}. Book ISBN {isbn}",
             "My card {p} was charged {price} for {t} #{v}", "I'm {p}, where is {t} {v}? It cost {price}."]
JA_FRAMES = ["{p}です。{t}の{v}巻({isbn})はまだ{price}ですか?", "{t} {v}巻を{price}で注文しました。連絡先は{p}です。",
             "{p}宛に{t}第{v}巻を送ってください", "{own}の件です。{p}。ISBN {isbn} の本です", "{t}の{v}巻、{price}でした。{p}"]


@dataclass
class Turn:
    row: dict[str, Any]
    plants: list[Plant] = field(default_factory=list)
    keep_tokens: list[str] = field(default_factory=list)  # non-personal tokens of the user's text that must survive
    grounding_tokens: list[str] = field(default_factory=list)  # and of the grounding


def generate_log(n: int = 5000, seed: int = 16, plants_per_turn: tuple[int, int] = (1, 2)) -> list[Turn]:
    rng = random.Random(seed)
    series = list(catalog().values())
    intents = intent_names()
    turns: list[Turn] = []
    for i in range(n):
        ja = rng.random() < 0.35
        s = rng.choice(series)
        vol = rng.randint(1, s.volumes)
        isbn = isbn13(s, vol)
        isbn_text = rng.choice([isbn, isbn.replace("-", "")])
        title = s.title_ja if ja else s.title_en
        price = rng.choice([f"{s.price_jpy:,}円", f"¥{s.price_jpy:,}"]) if ja else rng.choice([f"¥{s.price_jpy:,}", f"${s.price_jpy / 100:.2f}"])
        own_order, own_tracking = f"MA-{_d(rng, 6)}", _d(rng, 12)
        own = rng.choice([own_order, own_tracking])
        k = rng.randint(*plants_per_turn)
        chosen = [plant(KINDS[(i + j * 3) % len(KINDS)] if j == 0 else rng.choice(KINDS), rng) for j in range(k)]
        frame = rng.choice(JA_FRAMES if ja else EN_FRAMES)
        p_text = ("、" if ja else ", ").join(p.text for p in chosen)
        text = frame.format(p=p_text, t=title, v=vol, isbn=isbn_text, price=price, own=own)
        keep = [tok for key, tok in (("{t}", title), ("{v}", f"{vol}"), ("{isbn}", isbn_text), ("{price}", price), ("{own}", own))
                if key in frame]
        intent = intents[i % len(intents)]
        grounding = {"order": {"order_id": own_order, "tracking_number": own_tracking,
                               "items": [{"title_en": s.title_en, "title_ja": s.title_ja, "volume": vol,
                                          "isbn": isbn, "price_jpy": s.price_jpy}]}}
        row = {"session_id": f"s{i // 3:05d}", "turn_index": i % 3, "timestamp": f"2026-11-{1 + i % 28:02d}T10:00:00Z",
               "user_text": text, "bot_text": ("承知しました。" if ja else "Sure, let me check.") + (f" {chosen[0].text}" if rng.random() < 0.2 else ""),
               "intent": intent, "lang": "ja" if ja else "en",
               "page": {"page": rng.choice(["home", "product", "order_status", "cart"]), "locale": "ja-JP" if ja else "en-US"},
               "grounding": grounding}
        turns.append(Turn(row=row, plants=chosen, keep_tokens=keep,
                          grounding_tokens=[s.title_en, s.title_ja, isbn, own_order, own_tracking]))
    return turns
