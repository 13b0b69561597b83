"""A/B analysis end to end on the warehouse engines: SQL sufficient statistics equal a direct computation,
idempotent loads with quarantine, each decision branch, the SRM block, results stored per look, the CLI,
and the A/A and power simulations on a reduced scale."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from mangaeval.ab.analysis import analyze, sufficient_stats
from mangaeval.ab.decision import CONTINUE, INVALID, PROMOTE, REVIEW, ROLLBACK, STOP, decide
from mangaeval.ab.experiments import experiment_for
from mangaeval.ab.loading import load_event_file
from mangaeval.ab.service import analyze_experiment
from mangaeval.ab.simulator import ArmTruth, simulate
from mangaeval.ab.study import aa_study, power_study
from mangaeval.cli import main
from mangaeval.errors import MangaEvalError
from mangaeval.warehouse import connect
from tests.conftest import postgres_test_uri

START = datetime(2026, 11, 20)
END = START + timedelta(days=7)


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse(request):
    if request.param == "duckdb":
        wh = connect("duckdb:///:memory:")
    else:
        wh = connect(postgres_test_uri("test_ab"))
    wh.ensure_schema()
    yield wh
    if hasattr(wh, "drop_schema"):
        wh.drop_schema()
    wh.close()


def _load(warehouse, sim, tmp_path, name="e"):
    requests, sessions = tmp_path / f"{name}-requests.jsonl", tmp_path / f"{name}-sessions.jsonl"
    sim.request_events().to_json(requests, orient="records", lines=True, double_precision=15)
    sim.session_events().to_json(sessions, orient="records", lines=True, double_precision=15)
    return (load_event_file(warehouse, requests, "requests", f"{name}/requests"),
            load_event_file(warehouse, sessions, "sessions", f"{name}/sessions"))


def test_sql_sufficient_statistics_equal_a_direct_computation(warehouse, tmp_path):
    sim = simulate("exp", 3000, treatment_share=0.3, seed=11, start=START, treatment=ArmTruth().with_effects(quality=0.02, error_rate=0.02))
    _load(warehouse, sim, tmp_path)
    from_sql = sufficient_stats(warehouse, "exp", END)
    direct = sim.stats_at(10 * 86400)
    for arm in ("control", "treatment"):
        for key, value in direct.requests[arm].items():
            assert from_sql.requests[arm][key] == pytest.approx(value, rel=1e-6, abs=1e-6), (arm, key)
        for key, value in direct.sessions[arm].items():
            assert from_sql.sessions[arm][key] == pytest.approx(value, rel=1e-6, abs=1e-6), (arm, key)
        for key in ("requests", "p95", "p95_low", "p95_high"):
            assert from_sql.p95[arm][key] == pytest.approx(direct.p95[arm][key], rel=1e-3), (arm, key)
    # as_of cuts by event time
    halfway = sufficient_stats(warehouse, "exp", START + timedelta(days=3.5))
    assert 0 < halfway.requests["control"]["sessions"] < from_sql.requests["control"]["sessions"]


def test_sessions_seen_in_both_arms_are_counted_and_excluded_from_both(warehouse, tmp_path):
    sim = simulate("exp", 400, seed=7, start=START)
    _load(warehouse, sim, tmp_path)
    clean = sufficient_stats(warehouse, "exp", END)
    with warehouse.transaction() as cur:
        cur.execute("SELECT session_id, MIN(event_time) FROM request_events WHERE arm = 'control' GROUP BY session_id ORDER BY session_id LIMIT 3")
        switched = cur.fetchall()
    stray = [{"load_id": "stray", "event_time": t, "experiment_id": "exp", "session_id": sid, "arm": "treatment", "config_id": "cfg",
              "intent": "faq", "quality_score": 0.9, "latency_ms": 900.0, "input_tokens": 10, "output_tokens": 10, "cost_usd": 0.001,
              "error_code": None} for sid, t in switched]
    warehouse.replace_keyed("request_events", {"load_id": "stray"}, stray)
    found = sufficient_stats(warehouse, "exp", END)
    assert found.sessions_in_both_arms == 3
    assert found.requests["control"]["sessions"] == clean.requests["control"]["sessions"] - 3
    assert found.requests["treatment"] == pytest.approx(clean.requests["treatment"])
    decided = decide(analyze(found, experiment_for("exp", 0.5, start_time=START), END))
    assert any("3 session(s) appear in both arms" in reason for reason in decided["reasons"])


def test_a_resent_session_event_is_quarantined_and_counted_once(warehouse, tmp_path):
    sim = simulate("exp", 300, seed=8, start=START)
    _load(warehouse, sim, tmp_path)
    before = sufficient_stats(warehouse, "exp", END)
    sessions = sim.session_events()
    resent = sessions.iloc[:2].assign(cart_add=1 - sessions.iloc[:2]["cart_add"])  # the bot re-sent two, changed
    late = tmp_path / "late-sessions.jsonl"
    pd.concat([resent, sessions.iloc[:1].assign(session_id="exp-new-session")]).to_json(late, orient="records", lines=True)
    for _ in range(2):  # a reload gives the same result
        result = load_event_file(warehouse, late, "sessions", "late/sessions")
        assert result["loaded"] == 1 and result["quarantined"] == 2
        assert f"late/sessions:1: session {sessions.iloc[0]['session_id']!r} of experiment 'exp' already loaded from e/sessions (re-sent event)" in result["problems"]
        with warehouse.transaction() as cur:
            cur.execute("SELECT COUNT(*) FROM event_quarantine WHERE load_id = 'late/sessions'")
            assert cur.fetchone()[0] == 2
    after = sufficient_stats(warehouse, "exp", END)
    arm_of_new = sessions.iloc[0]["arm"]
    assert after.sessions[arm_of_new]["sessions"] == before.sessions[arm_of_new]["sessions"] + 1
    assert after.sessions[arm_of_new]["cart_add"] == before.sessions[arm_of_new]["cart_add"] + sessions.iloc[0]["cart_add"]


def _request_sums_both_ways(warehouse, as_of):
    params = {"experiment_id": "exp", "as_of": as_of}
    return warehouse.query("ab/ab_request_sums.sql", params), warehouse.query("ab/ab_request_sums_from_events.sql", params)


def _totals_and_events(warehouse):
    with warehouse.transaction() as cur:
        cur.execute("SELECT COUNT(*), SUM(requests), SUM(cost_usd) FROM request_session_totals")
        totals = tuple(float(v) for v in cur.fetchone())
        cur.execute("SELECT COUNT(*) FROM request_events")
        return totals, int(cur.fetchone()[0])


def _straddling_sessions(warehouse, as_of):
    with warehouse.transaction() as cur:
        cur.execute("SELECT COUNT(*) FROM request_session_totals WHERE first_event <= " + warehouse._param("t") + " AND last_event > "
                    + warehouse._param("t"), {"t": as_of})
        return int(cur.fetchone()[0])


def test_maintained_session_totals_equal_regrouping_the_events_through_reloads(warehouse, tmp_path):
    sim = simulate("exp", 600, seed=9, start=START)
    events = sim.request_events()
    hours = events["event_time"].str.slice(0, 13)
    for hour in sorted(hours.unique())[:40]:  # hourly files: sessions straddle the files and the looks
        path = tmp_path / f"{hour}.jsonl"
        events[hours == hour].to_json(path, orient="records", lines=True, double_precision=15)
        load_event_file(warehouse, path, "requests", f"requests/{hour}")
    first = sorted(hours.unique())[0]
    shorter = events[(hours == first)].iloc[1:]  # a corrected file: one request fewer, maybe a whole session
    path = tmp_path / "corrected.jsonl"
    shorter.to_json(path, orient="records", lines=True, double_precision=15)
    before = _totals_and_events(warehouse)
    with pytest.raises(MangaEvalError):  # a failed load changes neither the events nor the totals, and leaves nothing behind
        warehouse.replace_keyed("request_events", {"load_id": f"requests/{first}"}, [{"load_id": "someone-else"}])
    assert _totals_and_events(warehouse) == before
    load_event_file(warehouse, path, "requests", f"requests/{first}")
    last = datetime.fromisoformat(sorted(hours.unique())[39]) + timedelta(hours=1)
    times = pd.to_datetime(events["event_time"]).dt.tz_localize(None)
    spans = times.groupby(events["session_id"]).agg(["min", "max"])
    spans = spans[(spans["max"] > spans["min"]) & (spans["max"] < last)]
    cuts = list(spans["min"] + (spans["max"] - spans["min"]) / 2)[:3]  # looks in the middle of sessions
    straddling = 0
    for as_of in [START + timedelta(minutes=30), *[c.to_pydatetime() for c in cuts], last - timedelta(minutes=1), last, END]:
        maintained, reference = _request_sums_both_ways(warehouse, as_of)
        straddling += _straddling_sessions(warehouse, as_of)
        assert list(maintained["arm"]) == list(reference["arm"]), as_of
        assert np.allclose(maintained.drop(columns="arm").to_numpy(float), reference.drop(columns="arm").to_numpy(float), rtol=1e-9), as_of
    assert straddling > 0  # the looks cut through sessions: the events path of the query was used
    with warehouse.transaction() as cur:
        cur.execute("SELECT SUM(requests) FROM request_session_totals")
        assert int(cur.fetchone()[0]) == int(((hours <= sorted(hours.unique())[39])).sum()) - 1


def test_totals_out_of_step_with_the_events_stop_the_analysis_until_rebuilt(tmp_path, capsys):
    uri = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    warehouse = connect(uri)
    warehouse.ensure_schema()
    sim = simulate("exp", 300, seed=10, start=START)
    _load(warehouse, sim, tmp_path)
    with warehouse.transaction() as cur:  # events written around the loader: the totals do not know them
        cur.execute("INSERT INTO request_events SELECT 'around', event_time, experiment_id, session_id || '-copy', arm, config_id, intent, "
                    "quality_score, latency_ms, input_tokens, output_tokens, cost_usd, error_code FROM request_events")
    with pytest.raises(MangaEvalError, match=r"out of step .*`mangaeval ab rebuild-totals --experiment exp`"):
        sufficient_stats(warehouse, "exp", END)
    warehouse.close()
    assert main(["ab", "rebuild-totals", "--experiment", "exp", "--warehouse-uri", uri]) == 0
    assert f"{2 * len(sim.request_session)} request(s)" in capsys.readouterr().out
    warehouse = connect(uri)
    found = sufficient_stats(warehouse, "exp", END)
    assert sum(row["sessions"] for row in found.requests.values()) == 2 * len(sim.session_arm)
    warehouse.close()


def test_loads_are_idempotent_and_quarantine_is_kept(warehouse, tmp_path):
    sim = simulate("exp", 500, seed=2, start=START)
    path = tmp_path / "requests.jsonl"
    sim.request_events().to_json(path, orient="records", lines=True)
    with path.open("a") as handle:
        handle.write('{"event_time": "2026-11-21T00:00:00Z", "experiment_id": "exp"}\n')
    for _ in range(2):
        result = load_event_file(warehouse, path, "requests", "hour-1/requests.jsonl")
    assert result["quarantined"] == 1 and "missing field(s)" in result["problems"][0]
    with warehouse.transaction() as cur:
        cur.execute("SELECT COUNT(*) FROM request_events")
        assert cur.fetchone()[0] == len(sim.request_session)
        cur.execute("SELECT COUNT(*), MIN(reason) FROM event_quarantine")
        count, reason = cur.fetchone()
    assert count == 1 and "missing field(s)" in reason


def _decision(sim, experiment, seconds=None):
    seconds = seconds if seconds is not None else 7 * 86400 * 0.99
    analysis = analyze(sim.stats_at(seconds), experiment, sim.start + timedelta(seconds=seconds))
    return decide(analysis), analysis


EXPERIMENT = experiment_for("branches", 0.5, start_time=START)


def test_promote_when_quality_is_better_at_marginal_cost():
    sim = simulate("b", 8000, seed=1, start=START, treatment=ArmTruth().with_effects(quality=0.04, price_out_per_m=0.5))
    decided, analysis = _decision(sim, EXPERIMENT)
    assert decided["decision"] == PROMOTE, decided["reasons"]
    assert 0 < analysis.comparisons["cost_usd"].effect < 0.001 and "minimum effect" in decided["reasons"][0]


def test_review_when_better_but_costlier():
    sim = simulate("b", 8000, seed=1, start=START, treatment=ArmTruth().with_effects(quality=0.04, price_out_per_m=10.0))
    decided, analysis = _decision(sim, EXPERIMENT)
    assert decided["decision"] == REVIEW, decided["reasons"]
    assert analysis.comparisons["cost_usd"].effect > 0.001


def test_promote_for_similar_quality_at_lower_cost():
    cheaper = ArmTruth().with_effects(price_in_per_m=-2.2, price_out_per_m=-11.0)  # a Haiku-class price
    decided, _ = _decision(simulate("b", 8000, seed=3, start=START, treatment=cheaper), EXPERIMENT)
    assert decided["decision"] == PROMOTE and "similar quality at lower cost" in decided["reasons"][0]


def test_rollback_when_quality_is_worse():
    decided, _ = _decision(simulate("b", 8000, seed=4, start=START, treatment=ArmTruth().with_effects(quality=-0.04)), EXPERIMENT)
    assert decided["decision"] == ROLLBACK and "treatment worse" in decided["reasons"][0]


def test_rollback_when_a_guardrail_is_breached_even_if_quality_is_better():
    worse = ArmTruth().with_effects(quality=0.04, escalated=0.05)
    decided, _ = _decision(simulate("b", 8000, seed=5, start=START, treatment=worse), EXPERIMENT)
    assert decided["decision"] == ROLLBACK and "guardrail escalated breached" in decided["reasons"][0]
    assert decided["guardrails"]["escalated"]["status"] == "breached"


def test_rollback_when_p95_latency_regresses():
    slow = ArmTruth().with_effects(latency_median_ms=900.0)
    decided, _ = _decision(simulate("b", 8000, seed=6, start=START, treatment=slow), EXPERIMENT)
    assert decided["decision"] == ROLLBACK
    assert decided["guardrails"]["latency_p95_ms"]["status"] == "breached"


def test_continue_under_the_minimum_sample_even_with_a_large_effect():
    decided, _ = _decision(simulate("b", 1500, seed=7, start=START, treatment=ArmTruth().with_effects(quality=0.1)), EXPERIMENT)
    assert decided["decision"] == CONTINUE and "minimum sample" in decided["reasons"][0]


def test_continue_when_not_yet_conclusive_then_stop_at_the_maximum_duration():
    sim = simulate("b", 4000, seed=8, start=START)
    early, _ = _decision(sim, EXPERIMENT, seconds=6 * 86400)
    assert early["decision"] == CONTINUE and "not yet conclusive" in early["reasons"][0]
    late = decide(analyze(sim.stats_at(7 * 86400), EXPERIMENT, START + timedelta(days=7, hours=1)))
    assert late["decision"] == STOP and "maximum duration" in late["reasons"][0]


def test_sample_ratio_mismatch_blocks_every_decision():
    lossy = simulate("b", 20000, seed=9, start=START, imbalance=0.08, treatment=ArmTruth().with_effects(quality=0.05))
    decided, analysis = _decision(lossy, EXPERIMENT)
    assert decided["decision"] == INVALID and analysis.srm["p_value"] < 0.001 and "sample-ratio mismatch" in decided["reasons"][0]


def test_results_are_stored_per_look_and_the_sequential_p_value_runs(warehouse, tmp_path):
    sim = simulate("stored", 6000, seed=12, start=START, treatment=ArmTruth().with_effects(quality=0.03))
    _load(warehouse, sim, tmp_path, "stored")
    experiment = experiment_for("stored", 0.5, start_time=START)
    looks = [START + timedelta(days=d) for d in (2, 4, 6)]
    docs = [analyze_experiment(warehouse, experiment, t) for t in looks]
    analyze_experiment(warehouse, experiment, looks[-1])  # a rerun of the same look replaces it
    frame = warehouse.query("ab/ab_previous_sequential.sql", {"experiment_id": "stored", "as_of": looks[-1] + timedelta(hours=1)})
    assert len(frame) == len(docs[-1]["metrics"])
    with warehouse.transaction() as cur:
        cur.execute("SELECT COUNT(*), COUNT(DISTINCT analyzed_at) FROM ab_decisions WHERE experiment_id = 'stored'")
        assert tuple(cur.fetchone()) == (3, 3)
        cur.execute("SELECT decision, metric, p_value_sequential FROM v_ab_results WHERE experiment_id = 'stored' AND metric = 'quality' "
                    "ORDER BY analyzed_at")
        rows = cur.fetchall()
    assert [r[0] for r in rows][-1] == PROMOTE
    sequential = [r[2] for r in rows]
    assert all(b <= a for a, b in zip(sequential, sequential[1:]))  # running minimum across looks


def test_cli_analyze_json_and_unregistered_defaults(tmp_path, capsys):
    sim = simulate("cli-exp", 6000, treatment_share=0.2, seed=13, start=START, treatment=ArmTruth().with_effects(quality=0.03))
    sim.write_jsonl(tmp_path / "r.jsonl", tmp_path / "s.jsonl")
    assert main(["ab", "analyze", "--requests", str(tmp_path / "r.jsonl"), "--sessions", str(tmp_path / "s.jsonl"),
                 "--experiment", "cli-exp", "--treatment-share", "0.2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["decision"] == PROMOTE and doc["registered"] is False and doc["srm"]["status"] == "ok"
    assert set(doc["metrics"]) == {"quality", "latency_ms", "cost_usd", "error_rate", "cart_add", "escalated", "continued", "duration_s"}
    for metric in doc["metrics"].values():
        assert {"control_mean", "treatment_mean", "effect", "ci_low", "ci_high", "p_value", "p_value_sequential"} <= set(metric)
    # the wrong share is a sample-ratio mismatch
    assert main(["ab", "analyze", "--requests", str(tmp_path / "r.jsonl"), "--sessions", str(tmp_path / "s.jsonl"),
                 "--experiment", "cli-exp", "--treatment-share", "0.5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == INVALID
    # --as-of early: under the minimum sample
    assert main(["ab", "analyze", "--requests", str(tmp_path / "r.jsonl"), "--experiment", "cli-exp", "--treatment-share", "0.2",
                 "--as-of", "2026-11-20T12:00:00Z", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == CONTINUE
    assert main(["ab", "analyze", "--requests", str(tmp_path / "r.jsonl"), "--experiment", "other"]) == 2
    assert "no valid request events for experiment 'other'" in capsys.readouterr().err


def test_aa_validity_on_a_reduced_scale():
    result = aa_study(experiments=60, looks=30, sessions_per_arm=3000, seed=100)
    assert result["ever_promote_or_rollback"] <= 0.05 + 2 * 0.03  # 5% plus simulation error at 60 experiments


def test_power_on_a_reduced_scale():
    table = power_study(effects=(0.03,), sizes=(1_000, 5_000), experiments=20)["promoted_share"]["+0.03"]
    assert table["5000"] >= 0.9 and table["5000"] >= table["1000"]


def test_a_rerun_of_the_same_look_rewrites_its_proposal_only_if_the_decision_is_the_same(tmp_path):
    from mangaeval.ab.publishing import write_proposal
    from mangaeval.objectstore import LocalStore
    from tests.ledger_helpers import ab_promotion

    store = LocalStore(tmp_path)
    first = ab_promotion("exp-1", ["recommendation"], "sonnet-4-5", "2026-11-26T00:00:00Z")
    write_proposal(store, first)
    rerun = {**first, "figures": {**first["figures"], "mean_cost_usd": first["figures"]["mean_cost_usd"] + 1e-15}}  # float sums
    write_proposal(store, rerun)
    with pytest.raises(MangaEvalError, match="a different proposal exists"):
        write_proposal(store, {**first, "decision": "ROLLBACK", "action": "stop_experiment"})
