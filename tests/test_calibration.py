"""Scorer calibration against people (issue 16, part 5): labels file, join by answer hash, agreement figures whose
values are known by construction, the judge's agreement, bad input with file:line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import spearmanr

from mangaeval.cli import main
from mangaeval.paths import INCLUDE_DIR
from mangaeval.results import answer_hash, read_results, rows_to_frame, write_results
from mangaeval.scoring.agreement import cohen_kappa, kappa_interval, pass_fail_agreement
from mangaeval.scoring.calibration import LabelsError, calibrate, label_row, load_results, read_labels

GATE = 0.75
EXAMPLE_LABELS = INCLUDE_DIR / "examples" / "labels.synthetic.jsonl"
EXAMPLE_RESULTS = INCLUDE_DIR / "examples" / "results.synthetic.parquet"


def cli(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _table(a: int, b: int, c: int, d: int) -> tuple[list[bool], list[bool]]:
    """Two raters' verdicts with a = both pass, b = first pass/second fail, c = first fail/second pass, d = both fail."""
    return [True] * (a + b) + [False] * (c + d), [True] * a + [False] * b + [True] * c + [False] * d


# ------------------------------------------------------------------ answer hash
def test_answer_hash_ignores_what_no_reader_sees_and_nothing_else():
    text = "Your order MA-123456 is shipped. It costs ¥1,100."
    assert answer_hash(text) == answer_hash("  your order  MA-123456 is shipped.\nIt costs ¥１，１００. ")
    assert answer_hash(text) != answer_hash(text.replace("shipped", "delivered"))
    assert len(answer_hash(text)) == 64 and answer_hash(None) is None


def test_result_rows_and_scored_frames_record_the_hash():
    from mangaeval.golden import load_dataset
    from mangaeval.scoring import Scorer

    case = next(c for c in load_dataset("v1").cases if c.intent == "faq")
    base = {"run_id": "r", "config_id": "c", "model_id": "m", "intent": case.intent, "test_id": case.test_id,
            "language": case.language, "dataset_version": "v1", "prompt_version": "v1"}
    frame = rows_to_frame([{**base, "status": "ok", "response_text": case.reference_answer},
                           {**base, "config_id": "d", "status": "error", "response_text": None}])
    assert list(frame["answer_hash"].astype(object).where(frame["answer_hash"].notna(), None)) == [answer_hash(case.reference_answer), None]
    scored = Scorer().score_frame(frame.drop(columns=["answer_hash"]), [case])
    assert scored["answer_hash"].iloc[0] == answer_hash(case.reference_answer) and list(scored.columns)[-1] == "answer_hash"


# ------------------------------------------------------------------ agreement statistics
@pytest.mark.parametrize("cells", [(20, 3, 2, 11), (30, 5, 10, 15), (7, 1, 1, 3), (5, 5, 5, 5), (0, 4, 6, 0)])
def test_kappa_equals_the_closed_form_for_two_by_two(cells):
    a, b, c, d = cells
    first, second = _table(*cells)
    expected = 2 * (a * d - b * c) / ((a + b) * (b + d) + (a + c) * (c + d))  # Cohen's kappa of a 2x2 table
    assert cohen_kappa(first, second) == pytest.approx(expected)


def test_kappa_interval_matches_the_reference_implementation():
    # Reference figures: statsmodels 0.15.0, statsmodels.stats.inter_rater.cohens_kappa(table).kappa_low/kappa_upp
    # (Fleiss-Cohen-Everitt standard error), computed outside this project (statsmodels is not a dependency).
    assert kappa_interval(*_table(20, 3, 2, 11)) == pytest.approx((0.4642956068102763, 0.9435991300318292))
    assert kappa_interval(*_table(30, 5, 10, 15)) == pytest.approx((0.24439441358982542, 0.6967820569984099))
    assert kappa_interval(*_table(7, 1, 1, 3)) == pytest.approx((0.15503710245726382, 1.0))  # 1.095 clipped to 1
    # Degenerate: one rater constant (statsmodels gives nan), perfect agreement (variance 0), nothing to rate.
    assert kappa_interval(*_table(11, 0, 1, 0)) is None and cohen_kappa(*_table(11, 0, 1, 0)) == 0.0
    assert kappa_interval(*_table(6, 0, 0, 4)) is None and cohen_kappa(*_table(6, 0, 0, 4)) == 1.0
    assert cohen_kappa([True, True], [True, True]) is None and kappa_interval([], []) is None


def test_pass_fail_agreement_names_its_cells_after_the_raters():
    block = pass_fail_agreement(*_table(20, 3, 2, 11), "person", "scorer")
    assert (block["n"], block["both_pass"], block["person_pass_scorer_fail"], block["person_fail_scorer_pass"], block["both_fail"]) == (36, 20, 3, 2, 11)
    assert block["agreement"] == pytest.approx(31 / 36)


# ------------------------------------------------------------------ a run and labels whose agreement is known
INTENTS = ("faq", "order_tracking")


def _run(n_per: int = 10, with_judge: bool = False) -> pd.DataFrame:
    """A scored run: 2 intents x 2 configurations x n_per cases. Composite i/10-ish, so passes and fails both occur."""
    rows = []
    for intent in INTENTS:
        for config in ("cfg-a", "cfg-b"):
            for i in range(n_per):
                score = round(0.3 + 0.07 * i + (0.02 if config == "cfg-b" else 0.0), 6)
                row = {"run_id": "run-1", "config_id": config, "model_id": "m", "intent": intent, "test_id": f"{intent}-{i:03d}",
                       "language": "en", "dataset_version": "v1", "prompt_version": "v1", "status": "ok",
                       "response_text": f"answer {intent} {config} {i}", "quality_score": score, "passed": score >= GATE,
                       **{f"score_{d}": min(1.0, score + 0.05) for d in ("relevance", "factual_accuracy", "completeness")},
                       **{f"score_{d}": 1.0 for d in ("language_match", "format_length", "safety_policy")}}
                if with_judge and i % 5:  # every fifth answer without a verdict
                    row["score_judge"] = 1.0 if (i >= 6) else 0.2  # the judge passes from case 6 on
                rows.append(row)
    return rows_to_frame(rows)


def _write_labels(path: Path, docs: list[dict], header: dict | None = None) -> Path:
    lines = ([json.dumps(header)] if header else []) + [json.dumps(d) for d in docs]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


PLANTED = {("faq-008", "cfg-a"), ("faq-009", "cfg-b"), ("order_tracking-001", "cfg-a")}  # k = 3 flips


@pytest.fixture(scope="module")
def run_frame() -> pd.DataFrame:
    return _run(with_judge=True)


@pytest.fixture
def planted_labels(tmp_path, run_frame) -> Path:
    docs = []
    for row in _records(run_frame):
        flip = (row["test_id"], row["config_id"]) in PLANTED
        marks = {"factual_accuracy": 1.0 if row["passed"] else 0.0, "relevance": round(row["score_relevance"], 1)} if row["intent"] == "faq" else None
        docs.append(label_row(row, (not row["passed"]) if flip else row["passed"], marks, "ana", "planted" if flip else None))
    return _write_labels(tmp_path / "labels.jsonl", docs, {"format": "mangaeval-labels", "version": 1, "synthetic": True})


def test_figures_on_labels_with_k_planted_disagreements(planted_labels, run_frame):
    report = calibrate(read_labels(planted_labels), run_frame, GATE, "run-1")
    rows = _records(run_frame)
    n = len(rows)
    scorer = [r["passed"] for r in rows]
    person = [(not r["passed"]) if (r["test_id"], r["config_id"]) in PLANTED else r["passed"] for r in rows]
    overall = report["scorer"]["overall"]
    assert report["used"] == overall["n"] == n == 40 and report["synthetic"] is True
    assert overall["agreement"] == pytest.approx((n - 3) / n)
    # by hand: a = both pass, b = person pass/scorer fail, c = person fail/scorer pass, d = both fail
    a = sum(p and s for p, s in zip(person, scorer))
    b = sum(p and not s for p, s in zip(person, scorer))
    c = sum(s and not p for p, s in zip(person, scorer))
    d = n - a - b - c
    assert (b, c) == (1, 2)  # faq-008 and faq-009 pass the gate (people fail them), order_tracking-001 fails it
    po, pe = (a + d) / n, ((a + b) * (a + c) + (c + d) * (b + d)) / n ** 2
    assert overall["kappa"] == pytest.approx((po - pe) / (1 - pe))
    assert overall["kappa_low"] < overall["kappa"] < overall["kappa_high"]
    assert (overall["both_pass"], overall["person_pass_scorer_fail"], overall["person_fail_scorer_pass"], overall["both_fail"]) == (a, b, c, d)
    assert overall["scorer_passes_person_fails"] == pytest.approx(c / (c + d))
    faq, tracking = report["scorer"]["per_intent"]["faq"], report["scorer"]["per_intent"]["order_tracking"]
    assert (faq["n"], faq["person_fail_scorer_pass"], faq["person_pass_scorer_fail"]) == (20, 2, 0)
    assert (tracking["n"], tracking["person_fail_scorer_pass"], tracking["person_pass_scorer_fail"]) == (20, 0, 1)
    # the disagreements, farthest from the gate first, each pointing at the case, the configuration and the label
    listed = report["scorer"]["disagreements"]
    assert report["scorer"]["disagreements_total"] == 3 and {(x["test_id"], x["config_id"]) for x in listed} == PLANTED
    assert [x["distance_from_gate"] for x in listed] == sorted((x["distance_from_gate"] for x in listed), reverse=True)
    assert listed[0]["test_id"] == "order_tracking-001" and listed[0]["distance_from_gate"] == pytest.approx(abs(0.37 - GATE))
    assert listed[0]["where"].startswith(f"{planted_labels}:") and listed[0]["note"] == "planted"


def test_dimension_agreement_against_scipy(planted_labels, run_frame):
    report = calibrate(read_labels(planted_labels), run_frame, GATE, "run-1")
    faq = [r for r in _records(run_frame) if r["intent"] == "faq"]
    marks = [round(r["score_relevance"], 1) for r in faq]
    scores = [r["score_relevance"] for r in faq]
    rel = report["dimensions"]["relevance"]
    assert rel["n"] == 20 and rel["mean_abs_diff"] == pytest.approx(sum(abs(m - s) for m, s in zip(marks, scores)) / 20)
    assert rel["spearman"] == pytest.approx(spearmanr(marks, scores).statistic)
    assert set(report["dimensions"]) == {"relevance", "factual_accuracy"}


def test_judge_agreement_where_the_judge_ran(planted_labels, run_frame):
    report = calibrate(read_labels(planted_labels), run_frame, GATE, "run-1")
    judge = report["judge"]
    judged = [r for r in _records(run_frame) if r["score_judge"] is not None]
    person = {(r["test_id"], r["config_id"]): (not r["passed"]) if (r["test_id"], r["config_id"]) in PLANTED else r["passed"] for r in judged}
    verdict = {(r["test_id"], r["config_id"]): r["score_judge"] >= GATE for r in judged}
    assert judge["no_verdict"] == 8 and judge["overall"]["n"] == len(judged) == 32
    agree = sum(person[k] == verdict[k] for k in person)
    assert judge["overall"]["agreement"] == pytest.approx(agree / 32)
    assert judge["overall"]["kappa"] == pytest.approx(cohen_kappa(list(person.values()), list(verdict.values())))
    assert judge["disagreements_total"] == 32 - agree
    # without judge scores there is no judge block
    plain = calibrate(read_labels(planted_labels), run_frame.drop(columns=["score_judge"]), GATE, "run-1")
    assert plain["judge"] is None


def test_changed_answers_and_missing_rows_are_listed_not_used(tmp_path, run_frame):
    rows = _records(run_frame)
    docs = [label_row(r, r["passed"], rater="ana") for r in rows[:6]]
    docs.append(label_row({**rows[0], "config_id": "cfg-z"}, True))             # no such configuration in the run
    docs.append(label_row({**rows[1], "test_id": "faq-999"}, True))              # no such case
    labels = _write_labels(tmp_path / "labels.jsonl", docs)
    # Since labelling, answers 2 and 3 changed (a rerun), and answer 4 became an error row.
    changed = run_frame.copy()
    changed.loc[2, "response_text"] = "a different answer"
    changed.loc[3, "response_text"] = "another different answer"
    changed.loc[4, ["status", "response_text", "quality_score", "passed"]] = ["error", None, None, None]
    changed = changed.drop(columns=["answer_hash"])  # results written before rows carried a hash: computed from the text
    report = calibrate(read_labels(labels), changed, GATE, "rerun")
    assert (report["labels_total"], report["used"], len(report["changed"]), len(report["missing"])) == (8, 3, 2, 3)
    assert {c["test_id"] for c in report["changed"]} == {rows[2]["test_id"], rows[3]["test_id"]}
    assert report["changed"][0]["where"] == f"{labels}:3" and report["changed"][0]["result_hash"] == answer_hash("a different answer")
    whys = sorted(m["why"].split(" (")[0] for m in report["missing"])
    assert whys == ["no result row for this case and configuration"] * 2 + ["the row is an error"]
    assert report["scorer"]["overall"]["n"] == 3


def test_no_label_matching_is_bad_input(tmp_path, run_frame):
    from mangaeval.errors import MangaEvalError

    row = _records(run_frame)[0]
    labels = _write_labels(tmp_path / "l.jsonl", [{**label_row(row, True), "answer_hash": answer_hash("something else")}])
    with pytest.raises(MangaEvalError, match="none of the 1 label"):
        calibrate(read_labels(labels), run_frame, GATE, "run-1")


# ------------------------------------------------------------------ malformed labels: file:line, all of them
def test_malformed_rows_are_reported_with_file_and_line(tmp_path, run_frame):
    good = label_row(_records(run_frame)[0], True, rater="ana")
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([
        json.dumps(good),
        "{not json",
        "",
        json.dumps({**good, "passed": "maybe", "rater": "bo"}),
        json.dumps({**good, "intent": "weather", "rater": "cy"}),
        json.dumps({**good, "answer_hash": "abc123", "rater": "di"}),
        json.dumps({**good, "dimensions": {"tone": 1, "relevance": 1.5}, "rater": "ed"}),
        json.dumps({**good, "pased": True, "rater": "fa"}),
        json.dumps({k: v for k, v in good.items() if k != "config_id"}),
        json.dumps(good),
        json.dumps({"format": "mangaeval-labels", "version": 1}),
        "[1, 2]",
    ]) + "\n", encoding="utf-8")
    with pytest.raises(LabelsError) as caught:
        read_labels(path)
    problems = caught.value.problems
    expect = {2: "invalid JSON", 4: "'passed' must be", 5: "'intent' must be one of", 6: "'answer_hash' must be",
              7: "unknown dimension 'tone'", 8: "unknown field(s) ['pased']", 9: "missing 'config_id'",
              10: "a second label of this answer by rater ana; the first is at", 11: "may only open the file",
              12: "expected a JSON object"}
    for line, text in expect.items():
        assert any(p.startswith(f"{path}:{line}: ") and text in p for p in problems), (line, problems)
    assert any(p.startswith(f"{path}:7: ") and "mark for 'relevance' must be a number in [0, 1]" in p for p in problems)
    assert [int(p.split(":")[1]) for p in problems] == sorted(int(p.split(":")[1]) for p in problems)  # file order
    assert not any(p.startswith(f"{path}:1: ") or p.startswith(f"{path}:3: ") for p in problems)


def test_csv_labels_with_line_numbers(tmp_path, run_frame):
    rows = _records(run_frame)
    h0, h1 = label_row(rows[0], True)["answer_hash"], label_row(rows[1], False)["answer_hash"]
    path = tmp_path / "labels.csv"
    path.write_text(
        "test_id,intent,config_id,answer_hash,passed,rater,note,factual_accuracy\n"
        f"{rows[0]['test_id']},faq,cfg-a,{h0},pass,ana,\"a note\nover two lines\",1\n"
        f"{rows[1]['test_id']},faq,cfg-a,{h1},fail,ana,,0.5\n", encoding="utf-8")
    labels = read_labels(path)
    assert [(l.passed, l.dimensions, l.where) for l in labels.labels] == [
        (True, {"factual_accuracy": 1.0}, f"{path}:2"), (False, {"factual_accuracy": 0.5}, f"{path}:4")]
    path.write_text(path.read_text() + f"{rows[2]['test_id']},faq,cfg-a,{h0},perhaps,ana,,high\n", encoding="utf-8")
    with pytest.raises(LabelsError) as caught:
        read_labels(path)
    assert any(p.startswith(f"{path}:5: ") and "'passed'" in p for p in caught.value.problems)
    assert any(p.startswith(f"{path}:5: ") and "mark for 'factual_accuracy'" in p for p in caught.value.problems)
    (tmp_path / "h.csv").write_text("test_id,intent,verdict\n", encoding="utf-8")
    with pytest.raises(LabelsError, match=r"h.csv:1: header unknown column\(s\) \['verdict'\]"):
        read_labels(tmp_path / "h.csv")


# ------------------------------------------------------------------ results by path or run id
def test_results_by_run_id_from_evaluate_or_the_dag(tmp_path, monkeypatch, run_frame):
    import mangaeval.paths

    monkeypatch.setattr(mangaeval.paths, "DATA_DIR", tmp_path / "data")
    monkeypatch.setenv("MANGAEVAL_RESULTS_URI", str(tmp_path / "dag"))
    write_results(run_frame, tmp_path / "data" / "results" / "manual-1" / "results.parquet")
    write_results(run_frame[run_frame["intent"] == "faq"], tmp_path / "dag" / "results" / "run_id=nightly-1" / "config_id=x" / "intent=faq.parquet")
    assert len(load_results("manual-1")[0]) == 40
    frame, where = load_results("nightly-1")
    assert len(frame) == 20 and where.endswith("run_id=nightly-1")
    with pytest.raises(Exception, match="neither a results file or folder nor a run id"):
        load_results("nightly-2")


# ------------------------------------------------------------------ the command
def test_cli_on_the_synthetic_example(capsys):
    code, out, err = cli(capsys, "score", "calibrate", "--labels", EXAMPLE_LABELS, "--results", EXAMPLE_RESULTS, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["synthetic"] is True and "SYNTHETIC" in report["about"] and "synthetic" in EXAMPLE_LABELS.name
    labels = [json.loads(line) for line in EXAMPLE_LABELS.read_text(encoding="utf-8").splitlines()[1:]]
    notes = [l.get("note") or "" for l in labels]
    # what benchmarks/calibration_example.py planted, read back from the labels' own notes
    assert report["labels_total"] == len(labels) == 43
    assert len(report["changed"]) == sum("changed since" in n for n in notes) == 2
    assert len(report["missing"]) == sum("did not evaluate" in n for n in notes) == 1
    assert report["used"] == 40
    disagreeing = {d["where"] for d in report["scorer"]["disagreements"]}
    assert report["scorer"]["disagreements_total"] == 6 and len(disagreeing) == 6
    assert all("planted" in (d["note"] or "") for d in report["scorer"]["disagreements"])
    assert report["scorer"]["overall"]["agreement"] == pytest.approx(34 / 40)
    assert report["judge"] is not None and report["judge"]["overall"]["n"] >= 30
    assert report["people"]["n"] == 4 and report["people"]["agreement"] == pytest.approx(0.75)
    # the committed results still hold what the labels name (both files regenerate together)
    assert set(read_results(EXAMPLE_RESULTS)["answer_hash"].dropna()) >= {l["answer_hash"] for l in labels if "planted: labelled" not in (l.get("note") or "") and l["config_id"] != "nova-lite"}
    code, out, _ = cli(capsys, "score", "calibrate", "--labels", EXAMPLE_LABELS, "--results", EXAMPLE_RESULTS, "--top", "2")
    assert code == 0 and out.startswith("SYNTHETIC LABELS") and "kappa" in out and "LLM judge vs people" in out


def test_cli_bad_input_exits_2_with_a_message(capsys, tmp_path, run_frame):
    results = write_results(run_frame, tmp_path / "results.parquet")
    bad = _write_labels(tmp_path / "bad.jsonl", [{"test_id": "faq-000"}])
    cases = [
        (["--labels", bad, "--results", results], f"{bad}:1: missing 'intent'"),
        (["--labels", tmp_path / "nope.jsonl", "--results", results], "no such labels file"),
        (["--labels", EXAMPLE_LABELS, "--results", tmp_path / "no" / "file.parquet"], "no such results file or folder"),
        (["--labels", EXAMPLE_LABELS, "--results", "no-such-run"], "nor a run id with results"),
        (["--labels", EXAMPLE_LABELS, "--results", results], "none of the 43 label(s)"),
    ]
    for argv, says in cases:
        code, _, err = cli(capsys, "score", "calibrate", *argv)
        assert code == 2 and says in err and "Traceback" not in err, (argv, err)
    unscored = write_results(run_frame.assign(passed=pd.NA, quality_score=pd.NA), tmp_path / "unscored.parquet")
    good = _write_labels(tmp_path / "good.jsonl", [label_row(_records(run_frame)[0], True)])
    code, _, err = cli(capsys, "score", "calibrate", "--labels", good, "--results", unscored)
    assert code == 2 and "not scored: add --rescore" in err
    wrong_intent = _write_labels(tmp_path / "wi.jsonl", [{**label_row(_records(run_frame)[0], True), "intent": "chitchat"}])
    code, _, err = cli(capsys, "score", "calibrate", "--labels", wrong_intent, "--results", results)
    assert code == 2 and f"{wrong_intent}:1: labelled as intent 'chitchat'" in err
    code, _, err = cli(capsys, "score", "calibrate", "--labels", good, "--results", results, "--top", "-1")
    assert code == 2 and "--top" in err
