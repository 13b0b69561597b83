"""Every bad input gets a message saying what and where, exit status 2, never a traceback; an evaluation whose
every call failed exits 1 with its error counts."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mangaeval.cli import main
from tests.conftest import running_double

NO_ERRORS = {"throttle_rate": 0, "timeout_rate": 0, "unavailable_rate": 0, "model_error_rate": 0}


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """mangaeval.cli.main in this process: (exit status, stdout, stderr); argparse's own errors exit via SystemExit."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def bad(capsys, *argv: str, says: list[str]) -> str:
    code, _, err = cli(capsys, *argv)
    assert code == 2, err
    assert "Traceback" not in err
    for text in says:
        assert text in err, err
    return err


# ---- each bad input of the report, as a command --------------------------------------------------------------------

def test_score_results_on_a_missing_file(capsys, tmp_path):
    bad(capsys, "score", "results", tmp_path / "nope.parquet", says=[f"{tmp_path / 'nope.parquet'}: no such results file or folder"])
    (tmp_path / "empty").mkdir()
    bad(capsys, "score", "results", tmp_path / "empty", says=[f"{tmp_path / 'empty'}: no result Parquet files"])


def test_score_results_on_a_file_that_is_not_parquet(capsys, tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    bad(capsys, "score", "results", junk, says=[f"{junk}: not a readable Parquet file"])


def test_score_results_on_rows_missing_columns(capsys, tmp_path):
    thin = tmp_path / "thin.parquet"
    pd.DataFrame({"run_id": ["r"], "dataset_version": ["v0"]}).to_parquet(thin)
    bad(capsys, "score", "results", thin, says=[f"{thin}: missing column(s)", "test_id"])


@pytest.mark.parametrize("option, value, says", [
    ("--concurrency", "-2", "argument --concurrency: must be a whole number >= 1, got '-2'"),
    ("--concurrency", "0", "argument --concurrency: must be a whole number >= 1, got '0'"),
    ("--time-scale", "-1", "argument --time-scale: must be a number >= 0, got '-1'"),
    ("--time-scale", "nan", "argument --time-scale: expected a finite number, got 'nan'"),
    ("--retry-base-s", "-0.5", "argument --retry-base-s: must be a number >= 0, got '-0.5'"),
    ("--double-override", "bogus=1", "bad double override 'bogus=1'"),
    ("--double-override", "throttle_rate=2", "bad double override 'throttle_rate=2': throttle_rate must be in [0, 1]"),
    ("--double-override", "first_token_ms=-5", "bad double override 'first_token_ms=-5': first_token_ms must be >= 0"),
    ("--double-override", "cold_start_calls=1.5", "cold_start_calls must be a whole number"),
    ("--double-override", "timeout_rate=abc", "'abc' is not a number"),
    ("--run-id", "../../elsewhere", "--run-id '../../elsewhere': must be a plain folder name"),
    ("--configs", ",", "--configs: no configuration id given"),
])
def test_evaluate_bad_options_fail_before_any_call(capsys, tmp_path, option, value, says):
    bad(capsys, "evaluate", "--configs", "nova-micro", "--dataset", "v0", "--limit", "1", "--out", tmp_path, "--no-progress",
        option, value, says=[says])
    assert not any(tmp_path.rglob("*.parquet"))


@pytest.mark.parametrize("argv, says", [
    (["--port", "99999"], "argument --port: must be a whole number in [0, 65535], got '99999'"),
    (["--port", "-1"], "argument --port: must be a whole number in [0, 65535], got '-1'"),
    (["--time-scale", "-1"], "argument --time-scale: must be a number >= 0, got '-1'"),
    (["--override", "bogus=1"], "bad double override 'bogus=1'"),
    (["--override", "throttle_rate=2"], "throttle_rate must be in [0, 1]"),
    (["--override", "verbosity=-0.1"], "verbosity must be in [0, 1]"),
    (["--override", "internal_error_rate=1.5"], "internal_error_rate must be in [0, 1]"),
    (["--override", "stream_error_rate=3"], "stream_error_rate must be in [0, 1]"),
    (["--override", "tokens_per_s=inf"], "tokens_per_s must be a finite number"),
    (["--profiles", "/nonexistent/profiles.yaml"], "/nonexistent/profiles.yaml: cannot read double profiles"),
    (["--idle-timeout", "-3"], "argument --idle-timeout: must be a number >= 0, got '-3'"),
    (["--parent-pid", "0"], "argument --parent-pid: must be a whole number >= 1, got '0'"),
])
def test_double_serve_bad_options(capsys, argv, says):
    bad(capsys, "double", "serve", *argv, says=[says])


def test_double_profile_file_out_of_range(capsys, tmp_path):
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text("classes:\n  sonnet: {throttle_rate: 1.5}\n  haiku: {}\n  nova: {}\n  custom: {first_token_ms: -1}\n")
    err = bad(capsys, "double", "serve", "--profiles", profiles, says=[f"{profiles}: model "])
    assert "throttle_rate must be in [0, 1], got 1.5" in err and "first_token_ms must be >= 0, got -1" in err
    profiles.write_text("classes: [\n")
    bad(capsys, "double", "serve", "--profiles", profiles, says=[f"{profiles}: not valid YAML"])


def test_ab_analyze_bad_as_of(capsys, tmp_path):
    bad(capsys, "ab", "analyze", "--requests", tmp_path / "r.jsonl", "--experiment", "x", "--as-of", "yesterday",
        says=["argument --as-of: expected an ISO-8601 date or time", "got 'yesterday'"])


def test_golden_generate_needs_a_positive_count(capsys, tmp_path):
    for value in ("0", "-3"):
        bad(capsys, "golden", "generate", "--version", "vx", "--per-intent", value, "--out", tmp_path / "g",
            says=[f"argument --per-intent: must be a whole number >= 1, got '{value}'"])
    assert not (tmp_path / "g").exists()


# ---- the sweep of the other subcommands ----------------------------------------------------------------------------

@pytest.mark.parametrize("argv, says", [
    (["ab", "simulate", "--experiment", "x", "--sessions", "-5"], "argument --sessions: must be a whole number >= 1"),
    (["ab", "simulate", "--experiment", "x", "--sessions", "0"], "argument --sessions: must be a whole number >= 1"),
    (["ab", "simulate", "--experiment", "x", "--treatment-share", "1.5"], "argument --treatment-share: must be a number in (0, 1)"),
    (["ab", "simulate", "--experiment", "x", "--imbalance", "2"], "argument --imbalance: must be a number in [0, 1)"),
    (["ab", "simulate", "--experiment", "x", "--days", "0"], "argument --days: must be a number in (0, 3660]"),
    (["ab", "simulate", "--experiment", "x", "--days", "1e308"], "argument --days: must be a number in (0, 3660]"),
    (["score", "selfcheck", "--dataset", "v0", "--intents", "weather"], "--intents: unknown or empty intent(s) ['weather'] in dataset v0"),
    (["ab", "analyze", "--requests", "r.jsonl", "--experiment", "x", "--treatment-share", "0"], "argument --treatment-share"),
    (["ab", "assign", "--experiment", "x", "--treatment-share", "-1", "s1"], "argument --treatment-share"),
    (["canary", "plan", "--messages-per-day", "-5"], "argument --messages-per-day: must be a number > 0"),
    (["canary", "simulate", "--scenario", "a", "--messages-per-day", "-1"], "argument --messages-per-day: must be a number > 0"),
    (["canary", "judge", "--baseline", "b", "--canary", "c", "--min-requests", "x"], "argument --min-requests: expected a whole number"),
])
def test_sweep_counts_and_rates(capsys, tmp_path, argv, says):
    if argv[:2] == ["ab", "simulate"]:
        argv = [*argv, "--out", str(tmp_path / "sim")]
    bad(capsys, *argv, says=[says])
    assert not (tmp_path / "sim").exists()


def test_event_files_that_are_not_parquet(capsys, tmp_path):
    junk = tmp_path / "events.parquet"
    junk.write_text("not parquet")
    bad(capsys, "ab", "analyze", "--requests", junk, "--experiment", "x", says=[f"{junk}: not a readable Parquet file"])
    bad(capsys, "canary", "judge", "--baseline", junk, "--canary", junk, says=[f"{junk}: not a readable Parquet file"])
    latin = tmp_path / "events.jsonl"
    latin.write_bytes(b'{"a": "caf\xe9"}\n')
    bad(capsys, "canary", "judge", "--baseline", latin, "--canary", latin, says=[f"{latin}: not UTF-8 text"])


def test_golden_generate_into_an_unwritable_folder(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    bad(capsys, "golden", "generate", "--version", "vx", "--per-intent", "1", "--out", blocker / "sub", says=[f"{blocker / 'sub'}: cannot write"])


# ---- results files with floats where the layout has integers --------------------------------------------------------

@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    with running_double(**NO_ERRORS) as double:
        code = main(["evaluate", "--configs", "nova-micro,haiku-3-5", "--dataset", "v1", "--limit", "1", "--out", str(out),
                     "--cache-dir", str(out / "cache"), "--run-id", "floats", "--endpoint-url", double.url, "--no-progress", "--json"])
    assert code == 0
    return out / "floats" / "results.parquet"


def test_decide_accepts_integral_float_latency(capsys, tmp_path, results_file):
    frame = pd.read_parquet(results_file)
    frame["latency_ms"] = frame["latency_ms"].astype("float64")
    frame["input_tokens"] = frame["input_tokens"].astype("float64")
    floats = tmp_path / "floats.parquet"
    frame.to_parquet(floats)
    code, out, err = cli(capsys, "decide", "--results", floats, "--json")
    assert code == 0, err
    code, out, err = cli(capsys, "score", "results", floats, "--out", tmp_path / "rescored.parquet", "--json")
    assert code == 0, err
    assert pq.read_schema(tmp_path / "rescored.parquet").field("latency_ms").type == pa.int64()


def test_decide_refuses_fractional_latency_naming_file_column_and_row(capsys, tmp_path, results_file):
    frame = pd.read_parquet(results_file)
    frame["latency_ms"] = frame["latency_ms"].astype("float64")
    frame.loc[3, "latency_ms"] = 812.5
    floats = tmp_path / "fractional.parquet"
    frame.to_parquet(floats)
    says = [f"{floats}: column 'latency_ms' must hold whole numbers", "row 3", frame.loc[3, "test_id"], "812.5"]
    bad(capsys, "decide", "--results", floats, says=says)
    bad(capsys, "score", "results", floats, says=says)


def test_decide_refuses_text_in_a_number_column(capsys, tmp_path, results_file):
    frame = pd.read_parquet(results_file)
    frame["cost_usd"] = frame["cost_usd"].astype(str)
    frame.loc[5, "cost_usd"] = "free"
    texts = tmp_path / "texts.parquet"
    frame.to_parquet(texts)
    bad(capsys, "decide", "--results", texts, says=[f"{texts}: column 'cost_usd'", "row 5", "'free'"])


# ---- evaluate: all calls failed -> exit 1 with the counts; some failed -> a warning ----------------------------------

def _evaluate(capsys, tmp_path, url: str) -> tuple[int, str, str]:
    return cli(capsys, "evaluate", "--configs", "nova-micro", "--dataset", "v0", "--limit", "1", "--intents", "faq", "chitchat",
               "--out", tmp_path, "--cache-dir", tmp_path / "cache", "--endpoint-url", url, "--retry-base-s", "0", "--no-progress",
               "--run-id", "errors")


def test_evaluate_every_call_failed_exits_1_with_error_counts(capsys, tmp_path):
    with running_double(**{**NO_ERRORS, "unavailable_rate": 1}) as double:
        code, out, err = _evaluate(capsys, tmp_path, double.url)
    assert code == 1, err
    assert "Traceback" not in err
    assert "every call failed (2 of 2): ServiceUnavailableException 2" in err


def test_evaluate_some_errors_is_a_warning(capsys, tmp_path):
    with running_double(**NO_ERRORS) as double:
        code, out, err = _evaluate(capsys, tmp_path, double.url)
    assert code == 0 and "warning" not in err
    with running_double(**{**NO_ERRORS, "model_error_rate": 1}) as failing:  # the same run again reuses its nova-micro answers
        code, out, err = cli(capsys, "evaluate", "--configs", "nova-micro,haiku-3-5", "--dataset", "v0", "--limit", "1", "--intents", "faq",
                             "chitchat", "--out", tmp_path, "--cache-dir", tmp_path / "cache", "--endpoint-url", failing.url,
                             "--retry-base-s", "0", "--no-progress", "--run-id", "errors")
    assert code == 0, err
    assert "warning: 2 of 4 calls failed: ModelErrorException 2" in err


# ---- the report's commands as a user runs them: no traceback on stderr -----------------------------------------------

@pytest.mark.parametrize("argv, says", [
    (["score", "results", "/nonexistent/results.parquet"], "/nonexistent/results.parquet: no such results file or folder"),
    (["evaluate", "--configs", "nova-micro", "--dataset", "v0", "--concurrency", "-2"], "argument --concurrency"),
    (["ab", "analyze", "--requests", "r.jsonl", "--experiment", "x", "--as-of", "yesterday"], "argument --as-of"),
    (["double", "serve", "--port", "99999"], "argument --port"),
    (["evaluate", "--configs", "nova-micro", "--dataset", "v0", "--double-override", "bogus=1"], "bad double override 'bogus=1'"),
])
def test_as_a_subprocess(tmp_path, argv, says):
    proc = subprocess.run([sys.executable, "-m", "mangaeval.cli", *argv], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "MANGAEVAL_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_double_serve_on_a_port_in_use(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bad(capsys, "double", "serve", "--port", str(port), says=[f"--host 127.0.0.1 --port {port}: cannot listen there"])


def test_a_double_process_refusing_its_arguments_is_bad_input():
    from mangaeval.double.server import DoubleProcess
    from mangaeval.errors import MangaEvalError

    with pytest.raises(MangaEvalError, match="model double did not start: bad double override 'bogus=1'"):
        DoubleProcess(overrides=["bogus=1"]).__enter__()
