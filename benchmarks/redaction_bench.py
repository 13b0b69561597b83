"""Redaction of personal data in production logs (issue 16 targets).

A generated log of 5,000 turns (mangaeval.synthetic_logs: about 35% Japanese) with 1-2 planted pieces of personal
data per turn, of every kind: e-mail, Japanese and international phone numbers (incl. full-width digits), Japanese
(〒 codes, prefecture block addresses) and English postal addresses, names after Mr./Ms./Mrs./Dr. and before
様/さん/殿, payment cards (Visa/Mastercard/JCB/Amex, plain, spaced, hyphenated), tracking numbers and other
customers' order ids; beside them non-personal tokens: catalog titles, prices, volume numbers, ISBNs (hyphenated
and plain) in the text and in the grounding, and the case's own order id and tracking number (kept: grounding).

A plant counts as removed when none of its identifying parts is left in the redacted text. Prints % of plants
removed (target 100%) per kind and overall, % of non-personal tokens removed (target < 1%), and the time.

Usage: python benchmarks/redaction_bench.py [--turns 5000] [--seed 16] [--json] [--show-misses N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from mangaeval.redaction import Redactor, grounding_ids
from mangaeval.synthetic_logs import generate_log


def measure(turns, redactor: Redactor | None = None) -> dict:
    redactor = redactor or Redactor()
    planted, removed = Counter(), Counter()
    kept_total = kept_lost = 0
    misses, losses = [], []
    for turn in turns:
        row = turn.row
        keep = grounding_ids(row["grounding"])
        text = redactor.redact(row["user_text"], keep)
        grounding = json.dumps(redactor.redact_value(row["grounding"], keep), ensure_ascii=False)
        for p in turn.plants:
            planted[p.kind] += 1
            if not any(part in text for part in p.parts):
                removed[p.kind] += 1
            else:
                misses.append((p.kind, p.text, text))
        for tok in turn.keep_tokens:
            kept_total += 1
            if tok not in text:
                kept_lost += 1
                losses.append((tok, text))
        for tok in turn.grounding_tokens:
            kept_total += 1
            if tok not in grounding:
                kept_lost += 1
                losses.append((tok, grounding))
    total = sum(planted.values())
    return {"turns": len(turns), "plants": total, "plants_removed_pct": round(100 * sum(removed.values()) / total, 3),
            "per_kind_removed_pct": {k: round(100 * removed[k] / planted[k], 2) for k in sorted(planted)},
            "non_personal_tokens": kept_total, "non_personal_removed_pct": round(100 * kept_lost / kept_total, 3),
            "misses": misses, "losses": losses}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show-misses", type=int, default=5)
    args = ap.parse_args(argv)
    turns = generate_log(args.turns, args.seed)
    start = time.perf_counter()
    fig = measure(turns)
    seconds = time.perf_counter() - start
    misses, losses = fig.pop("misses"), fig.pop("losses")
    fig["seconds"] = round(seconds, 2)
    if args.json:
        print(json.dumps(fig, indent=2, ensure_ascii=False))
        return 0
    print(f"redaction: {fig['turns']} turns, {fig['plants']} planted pieces of personal data: "
          f"{fig['plants_removed_pct']}% removed (target 100%); {fig['non_personal_tokens']} non-personal tokens: "
          f"{fig['non_personal_removed_pct']}% removed (target < 1%); {seconds:.2f} s")
    for kind, pct in fig["per_kind_removed_pct"].items():
        print(f"  {kind:<12}{pct:>8.2f}%")
    for kind, plant, text in misses[: args.show_misses]:
        print(f"  missed {kind}: {plant!r} in {text!r}")
    for tok, text in losses[: args.show_misses]:
        print(f"  lost non-personal {tok!r} in {text[:200]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
