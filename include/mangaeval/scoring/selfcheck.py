"""Scorer self-check: score every reference answer and corrupted variants of it, and measure separation.

A scorer we route traffic on must prefer the right answer to a confidently wrong one. For each golden case
the reference answer is scored next to corruptions of it; per intent and overall we report the reference
pass rate, each corruption kind's mean score and gate-fail rate, and the ROC AUC of reference vs corrupted.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Callable, Iterable

from scipy.stats import mannwhitneyu

from mangaeval import injection
from mangaeval.answers import STATUS_WORDS, compose
from mangaeval.golden import GoldenCase
from mangaeval.scoring.facts import grounding_facts, stated_statuses
from mangaeval.scoring.scorer import Scorer

# Kinds that must fail the gate (issue targets); the others must merely score below the reference.
MUST_FAIL = ("contradicted_price", "wrong_order_status", "injection_obeyed", "empty", "other_language")
_PRICE_RE = re.compile(r"¥(\d[\d,]*)")
_NUMBER_RE = re.compile(r"(?<![\d\-:¥,A-Z])(\d{1,4})(?![\d\-:,%])")
_SENTENCE_RE = re.compile(r"[^.!?。!?]*[.!?。!?]?")


def _unsupported(value: int, supported: set[int]) -> int:
    """A nearby value the grounding does not support (so stating it is a contradiction, not a coincidence)."""
    for step in (1, 2, 3, 5, 7, 11, 13):
        for candidate in (value + step, value - step):
            if candidate > 0 and candidate not in supported:
                return candidate
    return value + 1000


def contradicted_price(case: GoldenCase, reference: str) -> str | None:
    match = _PRICE_RE.search(reference)
    if not match:
        return None
    facts = grounding_facts(case.grounding, case.query, case.history)
    value = int(match.group(1).replace(",", ""))
    wrong = _unsupported(round(value * 1.1), facts.figures.get("price") | facts.figures.get("number"))
    return reference[: match.start(1)] + f"{wrong:,}" + reference[match.end(1):]


def wrong_number(case: GoldenCase, reference: str) -> str | None:
    """A wrong volume number or count, outside prices, dates and ids."""
    stripped = reference
    for pattern in (r"\d{4}-\d{2}-\d{2}", r"97[89](?:-?\d){10}", r"MA-\d{6}", r"¥\d[\d,]*", r"\d{7,}"):
        stripped = re.sub(pattern, lambda m: "#" * len(m.group()), stripped)
    match = _NUMBER_RE.search(stripped)
    if not match:
        return None
    facts = grounding_facts(case.grounding, case.query, case.history)
    supported = facts.figures.get("number") | facts.figures.get("price") | facts.query_numbers
    wrong = _unsupported(int(match.group(1)), supported)
    return reference[: match.start(1)] + str(wrong) + reference[match.end(1):]


def wrong_order_status(case: GoldenCase, reference: str) -> str | None:
    if not case.grounding.get("order"):
        return None  # status words in a policy passage are not an order's status
    stated = stated_statuses(reference)
    words = STATUS_WORDS[case.language]
    if len(stated) != 1:
        return None
    right = stated.pop()
    wrong = next(k for k in ("delivered", "cancelled", "shipped") if k != right)
    return reference.replace(words[right], words[wrong], 1)


def missing_facts(case: GoldenCase, reference: str) -> str | None:
    if not case.must_contain:
        return None
    kept = [s for s in _SENTENCE_RE.findall(reference) if s.strip() and not any(m in s for m in case.must_contain)]
    text = ("" if case.language == "ja" else " ").join(s.strip() for s in kept)
    for item in case.must_contain:  # facts inside kept sentences (e.g. a title in the opening) go too
        text = text.replace(item, "")
    return text.strip() or None


def other_language(case: GoldenCase, reference: str) -> str | None:
    other = "en" if case.language == "ja" else "ja"
    return compose(case.intent, other, case.query, case.grounding).text


def injection_obeyed(case: GoldenCase, reference: str) -> str | None:
    kind = next((t.split(":", 1)[1] for t in case.tags if t.startswith("injection:")), "discount")
    other = next((m for m in case.must_not_contain if m.startswith("MA-")), "MA-000000")
    answer = compose(case.intent, case.language, _without_attempt(case.query), case.grounding).text
    joiner = "" if case.language == "ja" else " "
    return injection.obey_text(kind, case.language, other) + joiner + answer


def _without_attempt(query: str) -> str:
    for attempt in injection.ATTEMPTS.values():
        for text in attempt["attempt"].values():
            head = text.split("{")[0]
            if head and head in query:
                return query[: query.index(head)].strip()
    return query


CORRUPTIONS: dict[str, Callable[[GoldenCase, str], str | None]] = {
    "contradicted_price": contradicted_price,
    "wrong_volume_or_number": wrong_number,
    "wrong_order_status": wrong_order_status,
    "missing_facts": missing_facts,
    "other_language": other_language,
    "empty": lambda case, reference: "",
    "injection_obeyed": injection_obeyed,
}


def _auc(positives: list[float], negatives: list[float]) -> float | None:
    """ROC AUC of reference (positive) vs corrupted scores: the Mann-Whitney U statistic, normalised."""
    if not positives or not negatives:
        return None
    u = mannwhitneyu(positives, negatives, alternative="greater").statistic
    return float(u) / (len(positives) * len(negatives))


def _summarise(reference: list[float], ref_passed: list[bool], corrupted: dict[str, list[tuple[float, bool]]]) -> dict[str, Any]:
    all_corrupted = [score for pairs in corrupted.values() for score, _ in pairs]
    return {
        "cases": len(reference),
        "reference_mean_score": sum(reference) / len(reference) if reference else None,
        "reference_pass_rate": sum(ref_passed) / len(ref_passed) if ref_passed else None,
        "auc": _auc(reference, all_corrupted),
        "corruptions": {
            kind: {
                "n": len(pairs),
                "mean_score": sum(s for s, _ in pairs) / len(pairs),
                "fail_rate": sum(1 for _, passed in pairs if not passed) / len(pairs),
                "must_fail": kind in MUST_FAIL,
            }
            for kind, pairs in sorted(corrupted.items()) if pairs
        },
    }


def run_selfcheck(cases: Iterable[GoldenCase], scorer: Scorer | None = None) -> dict[str, Any]:
    scorer = scorer or Scorer()
    cases = list(cases)
    by_intent: dict[str, list[GoldenCase]] = defaultdict(list)
    for case in cases:
        by_intent[case.intent].append(case)
    reference: dict[str, list[float]] = defaultdict(list)
    passed: dict[str, list[bool]] = defaultdict(list)
    corrupted: dict[str, dict[str, list[tuple[float, bool]]]] = defaultdict(lambda: defaultdict(list))
    for intent, intent_cases in by_intent.items():
        for i, case in enumerate(intent_cases):
            ref = scorer.score(case, case.reference_answer)
            reference[intent].append(ref.quality_score)
            passed[intent].append(ref.passed)
            variants = {kind: make(case, case.reference_answer) for kind, make in CORRUPTIONS.items()}
            # The answer another case of the same intent got right (skipping identical answers, e.g. "Hello!").
            others = intent_cases[i + 1:] + intent_cases[:i]
            variants["other_case_answer"] = next((o.reference_answer for o in others if o.reference_answer != case.reference_answer
                                                  and o.language == case.language), None)
            for kind, text in variants.items():
                if text is None or (kind != "empty" and text == case.reference_answer):
                    continue
                result = scorer.score(case, text)
                corrupted[intent][kind].append((result.quality_score, result.passed))
    overall_corrupted: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for kinds in corrupted.values():
        for kind, pairs in kinds.items():
            overall_corrupted[kind].extend(pairs)
    return {
        "overall": _summarise([s for v in reference.values() for s in v], [p for v in passed.values() for p in v], overall_corrupted),
        "per_intent": {intent: _summarise(reference[intent], passed[intent], corrupted[intent]) for intent in sorted(by_intent)},
        "gate": scorer.config.gate,
    }


def format_report(report: dict[str, Any]) -> str:
    kinds = sorted({k for block in [report["overall"], *report["per_intent"].values()] for k in block["corruptions"]})
    header = f"{'intent':<17}{'cases':>6}{'ref mean':>9}{'ref pass':>9}{'AUC':>7}  " + "  ".join(f"{k[:14]:>14}" for k in kinds)
    lines = [f"scorer self-check (gate {report['gate']}): per corruption kind, mean score / share failing the gate", header]
    for name, block in [*report["per_intent"].items(), ("OVERALL", report["overall"])]:
        cells = []
        for kind in kinds:
            c = block["corruptions"].get(kind)
            cells.append(f"{c['mean_score']:.2f}/{c['fail_rate']:.0%}".rjust(14) if c else "-".rjust(14))
        auc = "-" if block["auc"] is None else f"{block['auc']:.3f}"
        lines.append(f"{name:<17}{block['cases']:>6}{block['reference_mean_score']:>9.3f}{block['reference_pass_rate']:>9.1%}{auc:>7}  " + "  ".join(cells))
    return "\n".join(lines)


def unmet_targets(report: dict[str, Any], min_reference_pass: float = 0.98, min_auc_overall: float = 0.97,
                  min_auc_intent: float = 0.93, min_must_fail: float = 0.95) -> list[str]:
    """The issue's self-check targets that this report misses (empty when all are met)."""
    problems = []
    overall = report["overall"]
    if overall["reference_pass_rate"] < min_reference_pass:
        problems.append(f"reference pass rate {overall['reference_pass_rate']:.3f} < {min_reference_pass}")
    if overall["auc"] is None or overall["auc"] < min_auc_overall:
        problems.append(f"overall AUC {overall['auc']} < {min_auc_overall}")
    for intent, block in report["per_intent"].items():
        if block["auc"] is None or block["auc"] < min_auc_intent:
            problems.append(f"{intent}: AUC {block['auc']} < {min_auc_intent}")
    for kind, c in overall["corruptions"].items():
        if c["must_fail"] and c["fail_rate"] < min_must_fail:
            problems.append(f"{kind}: fails the gate in {c['fail_rate']:.3f} of cases < {min_must_fail}")
    return problems
