"""Claims bound to what they describe, with their polarity, checked against the grounding's value for that subject.

An answer is cut into units (sentences and list lines). Each unit is bound to a subject of the grounding:
a promotion by its code, a recommended title by its name, a policy passage by wording overlap, the order by
being an order answer; a unit that names none inherits the previous unit's subject (list lines under a
heading). A figure in a unit that the grounding gives for *another* subject is a borrowed figure. Status,
availability, acceptance and permission claims carry their negation ("hasn't shipped", "返品できません")
and are compared with it. Numbers that are not claims are dropped first: list markers (in normalise),
counts of the things offered ("2作品", "1 series") and worked examples ("for example, a ¥1,000 purchase ...").
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Any

from mangaeval.scoring.normalise import canonical

# A unit ends after 。 or after a run of .!? that a new sentence follows: not inside "Haikyu!! by ..." or
# "ハイキュー!!(古舘春一、...)" (a title's own punctuation), "e.g. a ¥1,000 ..." or "1.5".
_UNIT_SPLIT = re.compile(r"(?<=。)\s*|(?<=[.!?!?])(?![.!?!?])\s*+(?![a-z0-9(),、])|\n+")
_COUNT_RE = re.compile(r"(?<![\d¥.-])\d{1,2}\s*(?:作品|冊|つの?|点|回|件|枚|個|度|series\b|titles?\b|picks?\b|options?\b|codes?\b|coupons?\b|things?\b)")
_EXAMPLE_RE = re.compile(r"for example|e\.g\.|for instance|例えば|たとえば")
_NEG_EN = re.compile(r"\b(?:not|no|never|cannot|unable|without|excluded|except)\b|n't")
_POSITIVE_IDIOMS = re.compile(r"\b(?:at )?no (?:extra )?(?:cost|charge|fee)\b|free of charge")  # "at no cost" grants, it does not deny
_NEG_JA = re.compile(r"ません|ない|できず|おらず|かねます|不可")
_TRIGRAM_MIN = 0.25  # share of a unit's trigrams found in a grounding sentence to count as restating it
# A condition before the main clause ("If a code does not work, contact support", "分からない場合は、ご相談ください"):
# a negation inside it does not negate what the sentence states.
_CONDITION = re.compile(r"\b(?:if|unless|when|whenever)\b[^,.;:!?]*,|[^、。]*?(?:場合は|場合には|場合、|ければ、|れば、|なら、)")
# Content words: Latin words of four letters or more that are not function words, and runs of two or more kanji or
# katakana. A restatement shares at least one with the sentence it restates; "Happy to help further." shares trigrams
# with many sentences but no word.
_CONTENT_RE = re.compile(r"[a-z]{4,}|[\u4e00-\u9fff]{2,}|[\u30a0-\u30ff]{2,}")
_FUNCTION_WORDS = frozenset("""about after also been before being both could does each even ever from have here into just like made make
many more most much must only other over same should some such than that their them then there these they this those through very what
when where which while will with would your yours you've you'll we've we'll they're there's it's that's isn't aren't don't doesn't
can't won't""".split())
# The assistant speaking of itself ("I couldn't find that order", "I'm sorry, I can't share ..."): not a restated policy.
_FIRST_PERSON = re.compile(r"^(?:(?:i'm |i am )?sorry[,!]\s*(?:but\s+)?)?i (?:can't|cannot|can not|couldn't|could not|am unable|was unable|"
                           r"wasn't able|don't have|didn't find)\b")


def units(text: str) -> list[str]:
    """Sentences and list lines of an answer, canonical (claims are compared in one form)."""
    out = []
    for line in text.splitlines():
        for piece in _UNIT_SPLIT.split(canonical(line, fold=False)):
            if piece.strip():
                out.append(piece.strip())
    return out


def without_non_claims(unit: str) -> str:
    """The unit without numbers that claim nothing: counts of what is offered; a worked example is dropped whole."""
    if _EXAMPLE_RE.search(unit.casefold()):
        return ""
    return _COUNT_RE.sub(" ", unit)


@lru_cache(maxsize=1)
def _names_with_negation_words() -> re.Pattern[str] | None:
    """Catalog titles and authors that contain a negation word ("Oshi no Ko"): a name denies nothing."""
    from mangaeval.store import catalog

    names = {canonical(n) for s in catalog().values() for n in (s.title_en, s.title_ja, s.author_en, s.author_ja) if n}
    hits = sorted((n for n in names if _NEG_EN.search(n) or _NEG_JA.search(n)), key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in hits)) if hits else None


@lru_cache(maxsize=1 << 14)
def negated(text: str) -> bool:
    low = _CONDITION.sub(" ", _POSITIVE_IDIOMS.sub(" ", text.casefold()))
    names = _names_with_negation_words()
    if names is not None:
        low = names.sub(" ", low)
    return bool(_NEG_EN.search(low) or _NEG_JA.search(low))


_TRIGRAM_DROP = re.compile(r"[\s\d¥,.:;!?。、!?()()「」・\-]+")


_SENTENCE_END = re.compile(r"[.!?。!?]$")
_LEAD_CLAUSE = re.compile(r"[,;、—]|\bbut\b|\bhowever\b|ただし|けれど|けど")


def polarities(units_: list[str]) -> list[bool]:
    """Whether each unit is stated negated. Items listed under a lead-in line ending with ':' take its polarity
    ("Two things are excluded from returns:" / "- digital codes"): an item's own negation flips it again. The
    lead-in holds until a unit ends as a sentence."""
    return list(_polarities(tuple(units_)))


@lru_cache(maxsize=256)  # an answer's units are read by several checks in one scoring
def _polarities(units_: tuple[str, ...]) -> tuple[bool, ...]:
    out, lead = [], None
    for unit in units_:
        own = negated(unit)
        out.append(own != lead if lead is not None else own)
        if unit.endswith(":"):
            # The clause that introduces the list sets its polarity, not an aside before it
            # ("Codes can't be combined, but these apply:").
            lead = negated(_LEAD_CLAUSE.split(unit)[-1])
        elif _SENTENCE_END.search(unit):
            lead = None
    return tuple(out)


def trigrams(text: str) -> set[str]:
    compact = _TRIGRAM_DROP.sub("", text.casefold())
    return {compact[i:i + 3] for i in range(len(compact) - 2)}


# ------------------------------------------------------------------ status and availability with polarity
# (key, pattern): EN stems are negated by a negation before them in the clause; JA stems by one after them.
_STATUS_EN = [("out_for_delivery", r"out for delivery"), ("processing", r"being prepared|processing|preparing"),
              ("cancelled", r"cancell?ed"), ("delivered", r"\bdelivered\b(?! on schedule)|\barrived\b"),
              ("shipped", r"\bshipped\b|\bdispatched\b"), ("delayed", r"\bdelayed\b|running late|behind schedule")]
_STATUS_JA = [("out_for_delivery", r"配達中|配達に出"), ("processing", r"(?:発送|出荷)?準備中|(?:発送|出荷)(?:の)?(?:ご)?準備をしており"), ("cancelled", r"キャンセル"),
              ("delivered", r"配達済み|お届け済み|届きました|届いて|お届けいたしました|お届けされ|配達完了"),
              ("shipped", r"未発送|発送|出荷"), ("delayed", r"遅延|遅れて")]
_AVAIL_EN = [("out_of_stock", r"out of stock|sold out"), ("in_stock", r"in stock"), ("backorder", r"back-?order")]
_AVAIL_JA = [("out_of_stock", r"在庫切れ|品切れ"), ("in_stock", r"在庫(?:が|は)?"), ("backorder", r"取り寄せ")]
_CLAUSE_BREAK = re.compile(r"[.,;:—、。!?!?]|\bso\b|\bbut\b|\band\b")
_JA_NEG_AFTER = re.compile(r"^.{0,10}?(?:ません|ない|おらず|ず[、。]|なし)")
IMPLIES = {"processing": {"processing"}, "shipped": {"shipped"}, "out_for_delivery": {"shipped", "out_for_delivery"},
           "delayed": {"shipped", "delayed"}, "delivered": {"shipped", "delivered"}, "cancelled": {"cancelled"}}
AVAIL_IMPLIES = {"in_stock": {"in_stock"}, "backorder": {"backorder"}, "out_of_stock": {"out_of_stock"}}


_JA_CLAUSE = re.compile(r"[。、]")


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _claims(text: str, en: list[tuple[str, str]], ja: list[tuple[str, str]]) -> set[tuple[str, bool]]:
    """(key, negated) for each status-like phrase; each span read once, longest families first."""
    found: set[tuple[str, bool]] = set()
    low = canonical(text)
    for key, pattern in en:
        pattern = _compiled(pattern)
        for m in pattern.finditer(low):
            clause = _CLAUSE_BREAK.split(low[max(0, m.start() - 30):m.start()])[-1]
            found.add((key, bool(_NEG_EN.search(clause))))
        low = pattern.sub(" ", low)
    for key, pattern in ja:
        pattern = _compiled(pattern)
        for m in pattern.finditer(low):
            neg = m.group().startswith("未") or bool(_JA_NEG_AFTER.match(_JA_CLAUSE.split(low[m.end():m.end() + 14])[0]))
            found.add((key, neg))
        low = pattern.sub(" ", low)
    return found


def status_claims(text: str) -> set[tuple[str, bool]]:
    return _claims(text, _STATUS_EN, _STATUS_JA)


def availability_claims(text: str) -> set[tuple[str, bool]]:
    # "在庫がない" / "在庫がございません" read as a negated in-stock claim: the JA stem is "在庫(が)" + what follows.
    return _claims(text, _AVAIL_EN, _AVAIL_JA)


def claim_holds(claim: tuple[str, bool], actual: str, implies: dict[str, set[str]]) -> bool:
    key, neg = claim
    true = key in implies.get(actual, {actual})
    return true != neg


# ------------------------------------------------------------------ subjects
@dataclass
class Subject:
    name: str
    names: tuple[str, ...] = ()           # strings that name it in an answer (codes, titles), canonical
    values: set[str] = field(default_factory=set)   # canonical figures the grounding gives for it
    sentences: tuple[str, ...] = ()       # grounding sentences about it, canonical (for wording overlap)
    trigram_sets: tuple[frozenset[str], ...] = ()
    author: str = ""                      # canonical author names (both scripts), for titles
    attributes: dict[str, int] = field(default_factory=dict)  # titles: volume, volumes_published


_FIGURE_RE = re.compile(r"\d{4}-\d{2}-\d{2}|¥\d+|\d+(?:\.\d+)?%|\d{1,2}:\d{2}|\d+-\d+|\d+")


def figures_in(text: str) -> list[str]:
    """Canonical figures of a canonical text (ids and ISBNs are judged elsewhere)."""
    text = re.sub(r"97[89](?:-?\d){10}|ma-\d{6}|MA-\d{6}|[A-Za-z]{3,}\d+|\d{7,}", " ", text)
    return _FIGURE_RE.findall(text)


def _value_forms(value: Any, key: str) -> set[str]:
    if isinstance(value, bool) or value is None:
        return set()
    if isinstance(value, int):
        return {f"¥{value}", str(value)} if ("price" in key or key.endswith("_jpy")) else {str(value)}
    found = set(figures_in(canonical(str(value), fold=False)))
    return found | {f[1:] for f in found if f.startswith("¥")} | {f[:-1] for f in found if f.endswith("%")}


def _split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?。!?;;])\s*", canonical(text)) if s.strip()]


def build_subjects(grounding: dict[str, Any]) -> list[Subject]:
    """Subjects of a grounding. Each is built once per distinct passage, promotion or title (they recur across
    cases) and shared: treat a Subject as read-only."""
    subjects: list[Subject] = []
    for p in grounding.get("passages") or []:
        subjects.append(_passage_subject(p.get("id"), p.get("text_en") or "", p.get("text_ja") or ""))
    for promo in grounding.get("promotions") or []:
        try:
            subjects.append(_promo_subject(tuple(promo.items())))
        except TypeError:  # an unhashable value (a list): build it uncached
            subjects.append(_promo_subject.__wrapped__(tuple(promo.items())))
    for c in (grounding.get("candidates") or []) + (grounding.get("products") or []):
        key = tuple(c.get(k) for k in ("series_id", "title_en", "title_ja", "price_jpy", "volumes_published", "volume", "author_en", "author_ja"))
        try:
            subjects.append(_title_subject(key))
        except TypeError:
            subjects.append(_title_subject.__wrapped__(key))
    return subjects


@lru_cache(maxsize=1 << 12)
def _passage_subject(pid: Any, text_en: str, text_ja: str) -> Subject:
    sentences = tuple(s for text in (text_en, text_ja) for s in _split_sentences(text))
    values = _value_forms(text_en, "") | _value_forms(text_ja, "")
    return Subject(f"passage:{pid}", (), values, sentences, tuple(frozenset(trigrams(s)) for s in sentences))


@lru_cache(maxsize=1 << 12)
def _promo_subject(items: tuple[tuple[str, Any], ...]) -> Subject:
    promo = dict(items)
    values: set[str] = set()
    for k, v in promo.items():
        if k != "code":
            values |= _value_forms(v, k)
    return Subject(f"promo:{promo.get('code')}", (canonical(promo.get("code", "")),), values)


@lru_cache(maxsize=1 << 12)
def _title_subject(key: tuple[Any, ...]) -> Subject:
    series_id, title_en, title_ja, price, published, volume, author_en, author_ja = key
    names = tuple(canonical(t) for t in (title_en, title_ja) if t)
    values = _value_forms(price, "price_jpy") | _value_forms(published, "volumes_published") | _value_forms(volume, "volume")
    author = "|".join(canonical(a) for a in (author_en, author_ja) if a)
    attributes = {k: v for k, v in (("volumes_published", published), ("volume", volume)) if isinstance(v, int) and not isinstance(v, bool)}
    return Subject(f"title:{series_id}", names, values, author=author, attributes=attributes)


def bind(units_: list[str], subjects: list[Subject]) -> list[Subject | None]:
    """The subject of each unit: named (code/title), else restated policy wording, else the previous unit's."""
    bound: list[Subject | None] = []
    previous: Subject | None = None
    for unit in units_:
        low = unit.casefold()
        named = [s for s in subjects if any(n and n in low for n in s.names)]
        subject = named[0] if len(named) == 1 else None
        if subject is None and not named:
            grams = trigrams(unit)
            best, best_share = None, 0.0
            if grams:
                for s in subjects:
                    for g in s.trigram_sets:
                        share = len(grams & g) / len(grams)
                        if share > best_share:
                            best, best_share = s, share
            subject = best if best_share >= _TRIGRAM_MIN else previous
        bound.append(subject)
        previous = subject if subject is not None else previous
    return bound


def borrowed_figures(units_: list[str], bound: list[Subject | None], subjects: list[Subject], said: set[str]) -> list[str]:
    """Figures stated for one subject that the grounding gives only for another subject."""
    problems = []
    for unit, subject in zip(units_, bound):
        if subject is None:
            continue
        for fig in figures_in(without_non_claims(unit)):
            bare = fig.lstrip("¥").rstrip("%")
            if fig in subject.values or (fig == bare and bare in subject.values) or bare in said:
                continue
            if any(fig in other.values for other in subjects if other is not subject and other.name.split(":")[0] == subject.name.split(":")[0]):
                problems.append(f"{fig} given for {subject.name}")
    return problems


@lru_cache(maxsize=None)
def _whole_word(word: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(word)}\b")


def wrong_authors(units_: list[str], bound: list[Subject | None], known_authors: set[str]) -> list[str]:
    """A known author named in a unit about a title, who is not that title's author."""
    problems = []
    for unit, subject in zip(units_, bound):
        if subject is None or not subject.author:
            continue
        low = canonical(unit)
        own = set(subject.author.split("|"))
        for author in known_authors - own:
            if author.isascii() and len(author) < 4:
                continue  # "ONE" (Mob Psycho 100) is also an English word: too ambiguous to read as a claim
            # ASCII names as whole words only, so the author "ONE" is not read in "one of".
            if author not in low:
                continue  # cheap test first: a whole-word match is a substring match
            hit = _whole_word(author).search(low) if author.isascii() else True
            if hit and not any(author in o for o in own):
                problems.append(f"{author} named as the author of {subject.name}")
    return problems


def content_words(text: str) -> frozenset[str]:
    return frozenset(w for w in _CONTENT_RE.findall(text.casefold()) if w not in _FUNCTION_WORDS)


def flipped_polarity(units_: list[str], bound: list[Subject | None]) -> list[str]:
    """A unit restating a policy sentence with the opposite polarity ("PayPay is not accepted"). A question states
    nothing, and the assistant saying what it did or cannot do restates no policy: neither is compared (with
    production-length passages, "Is there anything else I can help with?" otherwise meets some negated sentence), nor
    is a unit that shares no content word with the sentence it best matches."""
    problems = []
    for unit, subject, neg in zip(units_, bound, polarities(units_)):
        if subject is None or not subject.sentences or unit.endswith(("?", "?")) or _FIRST_PERSON.match(unit.casefold()):
            continue
        grams = trigrams(unit)
        if not grams:
            continue
        share, sentence = max(((len(grams & g) / len(grams), s) for g, s in zip(subject.trigram_sets, subject.sentences)), default=(0.0, ""))
        if share >= _TRIGRAM_MIN and neg != negated(sentence) and content_words(unit) & content_words(sentence):
            problems.append(f"'{unit[:40]}' vs '{sentence[:40]}'")
    return problems


# Payment methods a model may claim we accept; naming one the grounding does not list, unnegated, invents it.
OTHER_PAYMENT_METHODS = ("apple pay", "google pay", "amazon pay", "alipay", "wechat pay", "line pay", "bitcoin", "楽天ペイ", "d払い", "au pay")


def invented_payment_methods(units_: list[str], grounding_text: str) -> list[str]:
    problems = []
    for unit, neg in zip(units_, polarities(units_)):
        low = canonical(unit)
        for method in OTHER_PAYMENT_METHODS:
            if method in low and method not in grounding_text and not neg:
                problems.append(f"{method} claimed as accepted")
    return problems


def denied_applicable_codes(units_: list[str], bound: list[Subject | None], applicable: set[str]) -> list[str]:
    """A unit about a promotion that applies, saying it cannot be used."""
    return [f"{s.name} denied" for u, s, neg in zip(units_, bound, polarities(units_))
            if s is not None and s.name.startswith("promo:") and s.name[6:] in applicable and s.names[0] in u.casefold() and neg]


# ------------------------------------------------------------------ policy values that exclude each other
# A policy attribute the grounding states one value of (where refunds go, when a pre-order is charged, who
# pays to send a damaged item back); an answer stating another value of it, unnegated, states a wrong fact.
# Patterns run on canonical (casefolded) text. A value counts as the grounding's when one of its patterns is
# found in the case's passages.
POLICY_VALUES: dict[str, dict[str, re.Pattern[str]]] = {
    "refund_destination": {
        "original_payment": re.compile(r"original (?:payment|card|method)|same (?:card|payment method)|元のお支払い|お支払いに使われた"),
        "store_credit": re.compile(r"store credit|store points?|credit only|gift (?:card|certificate)|ストアポイント|ポイントのみ|ポイントで(?:の)?(?:ご)?返金|"
                                   r"ギフト券|クーポンで(?:の)?(?:ご)?返金"),
    },
    "preorder_charge": {
        "at_shipping": re.compile(r"charged (?:only )?(?:when|once|as soon as|at the time) (?:they|it|the (?:items?|orders?|books?|volumes?)) ships?|"
                                  r"charged (?:at|on|upon) (?:shipping|shipment|dispatch)|発送時"),
        "at_order": re.compile(r"charged (?:at the time (?:you|of) (?:place|order|ordering|purchase)|when you (?:place|order|pre-?order|reserve|check ?out)|"
                               r"(?:at|on|upon) (?:order|ordering|checkout|purchase|reservation)|immediately|up ?front|right away|in advance)|"
                               r"(?:ご)?(?:注文|予約)(?:時|の際)に(?:代金|お支払い|請求|決済|課金)|(?:代金|お支払い|請求|決済)は(?:ご)?(?:注文|予約)(?:時|の際|と同時)"),
    },
    "damaged_return_postage": {
        "store_pays": re.compile(r"prepaid (?:return )?label|free return (?:label|shipping)|着払い"),
        "customer_pays": re.compile(r"(?:pay|cover) (?:for )?(?:the )?(?:return )?(?:postage|shipping)(?: costs?| fees?)? (?:yourself|on your own)|"
                                    r"return (?:postage|shipping)(?: costs?| fees?)? (?:is|are|will be) (?:at )?your (?:own )?(?:expense|cost|responsibility)|"
                                    r"at your own (?:expense|cost)|(?:返送料|送料|返送費用)は?お客様(?:の)?(?:ご)?負担|元払い"),
    },
}


@lru_cache(maxsize=1 << 12)
def policy_values(passage_text: str) -> dict[str, frozenset[str]]:
    """The value of each policy attribute the grounding's passages state (canonical text)."""
    out = {}
    for attribute, values in POLICY_VALUES.items():
        found = frozenset(v for v, pattern in values.items() if pattern.search(passage_text))
        if found:
            out[attribute] = found
    return out


def contradicted_policies(units_: list[str], stated: dict[str, frozenset[str]]) -> list[str]:
    """Units stating, unnegated, a value of a policy attribute other than the one the grounding states."""
    problems = []
    for unit, neg in zip(units_, polarities(units_)):
        if neg:
            continue
        low = canonical(unit)
        for attribute, own in stated.items():
            for value, pattern in POLICY_VALUES[attribute].items():
                if value not in own and pattern.search(low):
                    problems.append(f"{attribute}: {value} (grounding: {', '.join(sorted(own))})")
    return problems


# ------------------------------------------------------------------ a title's own attributes
# Which attribute of a title a number states: the volume asked about, or how many volumes are out. Only
# wordings that say which ("has 72 volumes", "全72巻", "volume 33", "第33巻"), so "the first 3 volumes" is no claim.
ATTRIBUTE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("volumes_published", re.compile(r"(?:\bhas|\bhave|\bwith|\bruns? to|\bspans?|\btotals?|\bat|\bof|\()\s?(\d+) volumes\b|"
                                     r"\b(\d+) volumes (?:so far|published|in total|total|out|long|available|released)\b|"
                                     r"全(\d+)巻|既刊(\d+)巻|(\d+)巻まで|(\d+)巻(?:が|も)?(?:刊行|発売|出て)")),
    ("volume", re.compile(r"\bvol(?:ume)?\.?\s?(\d+)\b|第(\d+)巻|(\d+)巻目")),
)


def attribute_claims(unit: str) -> list[tuple[str, int]]:
    """(attribute, value) pairs a unit states about a title."""
    low = canonical(unit)
    if "vol" not in low and "巻" not in low:
        return []  # every pattern needs one of these
    out = []
    for attribute, pattern in ATTRIBUTE_PATTERNS:
        for m in pattern.finditer(low):
            out.append((attribute, int(next(g for g in m.groups() if g))))
    return out


def wrong_title_attributes(units_: list[str], bound: list[Subject | None], subjects: list[Subject]) -> list[str]:
    """A title's volume or volume count stated with another value (often another attribute's: the volume asked
    about given as the number of volumes out)."""
    titles = [s for s in subjects if s.name.startswith("title:")]
    only = titles[0] if len(titles) == 1 else None
    problems = []
    for unit, subject in zip(units_, bound):
        subject = subject if subject is not None and subject.name.startswith("title:") else only
        if subject is None or not subject.attributes:
            continue
        for attribute, value in attribute_claims(unit):
            own = subject.attributes.get(attribute)
            if own is not None and value != own:
                problems.append(f"{attribute} {value} given for {subject.name} ({own})")
    return problems
