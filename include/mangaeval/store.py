"""The store's own data (catalog, policies, promotions) that golden cases are generated from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from mangaeval.paths import STORE_DATA_DIR


@dataclass(frozen=True)
class Series:
    id: str
    title_en: str
    title_ja: str
    author_en: str
    author_ja: str
    publisher: str
    volumes: int
    status: str
    price_jpy: int
    demographic: str
    genres: tuple[str, ...]

    def title(self, language: str) -> str:
        return self.title_ja if language == "ja" else self.title_en

    def author(self, language: str) -> str:
        return self.author_ja if language == "ja" else self.author_en


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((STORE_DATA_DIR / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def catalog() -> dict[str, Series]:
    doc = _load("catalog.yaml")
    return {s["id"]: Series(**{**s, "genres": tuple(s["genres"])}) for s in doc["series"]}


@lru_cache(maxsize=1)
def isbn_prefixes() -> dict[str, str]:
    return dict(_load("catalog.yaml")["publisher_isbn_prefix"])


@lru_cache(maxsize=1)
def policies() -> list[dict[str, Any]]:
    return list(_load("policies.yaml")["policies"])


@lru_cache(maxsize=1)
def promotions() -> list[dict[str, Any]]:
    return list(_load("promotions.yaml")["promotions"])


def _stable_int(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def isbn13(series: Series, volume: int) -> str:
    """A valid ISBN-13 in the publisher's registrant range, stable per (series, volume)."""
    prefix = isbn_prefixes()[series.publisher]
    digits = prefix.replace("-", "")
    width = 12 - len(digits)
    body = f"{_stable_int(series.id, volume) % 10**width:0{width}d}"
    twelve = digits + body
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(twelve)) % 10) % 10
    return f"{prefix}-{body}-{check}"


def isbn13_is_valid(isbn: str) -> bool:
    digits = isbn.replace("-", "")
    if len(digits) != 13 or not digits.isdigit():
        return False
    return sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10 == 0


def availability(series: Series, volume: int) -> str:
    roll = _stable_int("stock", series.id, volume) % 10
    return "in_stock" if roll < 7 else ("backorder" if roll < 9 else "out_of_stock")


def product_record(series: Series, volume: int) -> dict[str, Any]:
    """What the product API returns for one volume: the grounding of a product question."""
    return {
        "series_id": series.id,
        "title_en": series.title_en,
        "title_ja": series.title_ja,
        "volume": volume,
        "author_en": series.author_en,
        "author_ja": series.author_ja,
        "publisher": series.publisher,
        "isbn": isbn13(series, volume),
        "price_jpy": series.price_jpy,
        "availability": availability(series, volume),
        "volumes_published": series.volumes,
        "series_status": series.status,
    }


def series_record(series: Series) -> dict[str, Any]:
    """A candidate title as the recommender passes it to the model."""
    return {
        "series_id": series.id,
        "title_en": series.title_en,
        "title_ja": series.title_ja,
        "author_en": series.author_en,
        "author_ja": series.author_ja,
        "genres": list(series.genres),
        "demographic": series.demographic,
        "volumes_published": series.volumes,
        "price_jpy": series.price_jpy,
    }


def yen(amount: int) -> str:
    return f"¥{amount:,}"


# --- Production-sized grounding (golden dataset v2): what the live bot's APIs return beyond the records above ----

@lru_cache(maxsize=1)
def series_details() -> dict[str, dict[str, str]]:
    """Per series id: the publisher's blurb per locale (`synopsis_en`, `synopsis_ja`)."""
    return dict(_load("series_details.yaml")["series"])


@lru_cache(maxsize=1)
def help_center() -> dict[str, dict[str, str]]:
    """Per policy id: the help-center article's title, details and related paragraphs per locale."""
    return dict(_load("help_center.yaml")["articles"])


@lru_cache(maxsize=1)
def promotion_terms() -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """(per promotion code: its terms per locale, the rules every code follows per locale)."""
    doc = _load("promotion_terms.yaml")
    return dict(doc["terms"]), dict(doc["rules"])
