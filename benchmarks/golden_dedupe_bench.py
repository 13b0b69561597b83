"""Duplicate / near-duplicate detection speed (issue 16 target: 10,000 cases in under 10 s).

Generates 10,000 cases over the eight intents (about 35% Japanese; queries built from catalog titles, volumes,
filler phrases and random digits, so most are distinct, with planted exact duplicates (re-cased, full-width
digits, extra punctuation) and near-duplicates (one word or character changed)), writes them as a dataset folder
and times `golden_dedupe.analyse_path` on it: reading, normalising, exact keys, the n-gram index, conflicts.

Usage: python benchmarks/golden_dedupe_bench.py [--cases 10000] [--seed 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from mangaeval.golden_dedupe import analyse_path
from mangaeval.intents import intent_names
from mangaeval.store import catalog

EN = ["Do you have {t} volume {v} in stock?", "How much is {t} vol {v}?", "Can you recommend something like {t}?",
      "When does {t} volume {v} ship to {c}?", "Is {t} {v} available as a box set?", "my order {o} for {t} hasn't arrived",
      "What's the difference between {t} and the deluxe edition {v}?", "I want to return {t} volume {v}, it was damaged"]
JA = ["{t}の{v}巻は在庫ありますか?", "{t}{v}巻はいくらですか", "{t}みたいな漫画を教えてください", "注文{o}の{t}がまだ届きません",
      "{t}の{v}巻を{c}に送れますか?", "{t}の新装版{v}巻と通常版の違いは?", "{t}{v}巻を返品したいです、破れていました"]
CITIES = ["Osaka", "Sapporo", "London", "Toronto", "福岡", "名古屋", "Berlin", "仙台"]
FW = str.maketrans("0123456789", "０１２３４５６７８９")


def generate(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    series = list(catalog().values())
    intents = intent_names()
    cases: list[dict] = []
    for i in range(n):
        intent = intents[i % len(intents)]
        roll = rng.random()
        if cases and roll < 0.05:  # exact duplicate after normalisation
            src = dict(rng.choice(cases[-200:]))
            q = src["query"].upper().translate(FW) + "!!"
            src.update(test_id=f"b-{i}", query=q)
            cases.append(src)
            continue
        if cases and roll < 0.10:  # near duplicate: a character changed
            src = dict(rng.choice(cases[-200:]))
            q = src["query"]
            k = rng.randrange(len(q))
            src.update(test_id=f"b-{i}", query=q[:k] + rng.choice("aeiouあいう") + q[k + 1:])
            cases.append(src)
            continue
        ja = rng.random() < 0.35
        s = rng.choice(series)
        q = rng.choice(JA if ja else EN).format(t=s.title_ja if ja else s.title_en, v=rng.randint(1, s.volumes),
                                               c=rng.choice(CITIES), o=f"MA-{rng.randint(100000, 999999)}")
        q += f" ({rng.randint(1, 10**6)})"  # most queries distinct
        cases.append({"test_id": f"b-{i}", "intent": intent, "language": "ja" if ja else "en", "query": q,
                      "page_context": {"page": "home"}, "history": [], "grounding": {"series_id": s.id},
                      "expected": {"must_contain": [s.title_en], "must_not_contain": [], "reference_answer": s.title_en}})
    return cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cases = generate(args.cases, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bench"
        folder.mkdir()
        for intent in intent_names():
            rows = [json.dumps(c, ensure_ascii=False) for c in cases if c["intent"] == intent]
            (folder / f"{intent}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
        (folder / "manifest.json").write_text(json.dumps({"version": "bench"}), encoding="utf-8")
        start = time.perf_counter()
        report, _ = analyse_path(folder)
        seconds = time.perf_counter() - start
    figures = {"cases": len(cases), "seconds": round(seconds, 3), "target_seconds": 10,
               "exact_duplicates": len(report.exact), "near_duplicate_pairs": len(report.near),
               "conflicting_label_groups": len(report.conflicts)}
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"golden dedupe: {figures['cases']} cases in {seconds:.2f} s (target < 10 s); "
              f"{figures['exact_duplicates']} exact duplicates, {figures['near_duplicate_pairs']} near-duplicate pairs, "
              f"{figures['conflicting_label_groups']} conflicting label groups")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
