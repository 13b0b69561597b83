"""The model double never outlives whoever started it: a SIGKILLed parent, an idle run, a stale pidfile."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request

import psutil
import pytest

from mangaeval.cli import main
from mangaeval.double.server import read_pidfile, start_detached, stop_by_pidfile

pytestmark = pytest.mark.integration


def gone(pid: int) -> bool:
    """Exited; a zombie counts (in a container nobody may reap a re-parented child)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pid: int, within_s: float) -> float:
    start = time.monotonic()
    while not gone(pid):
        assert time.monotonic() - start < within_s, f"double pid {pid} still running after {within_s} s"
        time.sleep(0.05)
    return time.monotonic() - start


def ping(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/ping", timeout=5) as response:
        return json.load(response)


def parent_that_starts(tmp_path, start_code: str) -> tuple[subprocess.Popen, int, str]:
    """A Python process that starts a double (`start_code` sets `pid`, `url`), prints them and sleeps."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        from mangaeval.double.server import DoubleProcess, start_detached
        {start_code}
        print(pid, url, flush=True)
        time.sleep(120)
    """))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = parent.stdout.readline()
    assert line, parent.stderr.read()
    pid, url = line.split()
    return parent, int(pid), url


@pytest.mark.parametrize("start_code", [
    "d = DoubleProcess(time_scale=0).__enter__(); pid, url = d.proc.pid, d.url",  # the CLI's and benchmarks' way
    "url, pid = start_detached(Path(sys.argv[0]).with_suffix('.log'), parent_pid=os.getpid())",  # detached, tied to a pid
], ids=["DoubleProcess", "start_detached"])
def test_double_stops_when_its_parent_is_sigkilled(tmp_path, start_code):
    parent, pid, url = parent_that_starts(tmp_path, start_code)
    try:
        assert ping(url) == {"status": "ok"}
        parent.send_signal(signal.SIGKILL)  # no __exit__, no finally: only the double's own watch can stop it
        parent.wait(timeout=5)
        wait_gone(pid, within_s=5)
    finally:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_idle_timeout_stops_the_double_and_removes_its_pidfile(tmp_path):
    pidfile = tmp_path / "run.pid"
    url, pid = start_detached(tmp_path / "double.log", idle_timeout_s=1.0, pidfile=pidfile, run_id="run-1")
    try:
        doc = read_pidfile(pidfile)
        assert (doc["pid"], doc["url"], doc["run_id"]) == (pid, url, "run-1")
        for _ in range(3):  # requests keep it alive past its timeout
            time.sleep(0.5)
            assert ping(url) == {"status": "ok"}
        assert wait_gone(pid, within_s=4) >= 0.5
        assert not pidfile.exists()
        assert "stopped: no request for 1 s (idle timeout)" in (tmp_path / "double.log").read_text()
    finally:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_double_stop_by_pidfile_and_a_stale_pidfile(tmp_path, capsys):
    pidfile = tmp_path / "run.pid"
    url, pid = start_detached(tmp_path / "double.log", pidfile=pidfile, run_id="run-2")
    try:
        assert main(["double", "stop", "--pidfile", str(pidfile)]) == 0
        assert f"stopped the model double pid {pid}" in capsys.readouterr().out
        wait_gone(pid, within_s=1)
        assert not pidfile.exists()
    finally:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)
    # a pidfile naming a process that is not a double (a reused pid): nothing is signalled, the pidfile goes
    pidfile.write_text(json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:1", "run_id": "old"}))
    assert stop_by_pidfile(pidfile)["stopped"] is False and not pidfile.exists()
    assert main(["double", "stop", "--pidfile", str(pidfile)]) == 2
    assert f"{pidfile}: no such pidfile" in capsys.readouterr().err


def test_a_retried_setup_stops_the_double_of_its_earlier_attempt(tmp_path, monkeypatch):
    from mangaeval.pipeline import steps

    monkeypatch.setattr(steps, "DATA_DIR", tmp_path)
    monkeypatch.setattr(steps, "configured_endpoint", lambda: None)
    monkeypatch.delenv("MANGAEVAL_USE_DOUBLE", raising=False)
    first = steps.start_double_if_needed("manual__2026-12-01")
    second = steps.start_double_if_needed("manual__2026-12-01")  # the run was killed, then its setup cleared
    try:
        wait_gone(first["double_pid"], within_s=1)
        assert ping(second["endpoint_url"]) == {"status": "ok"}
        assert read_pidfile(second["double_pidfile"])["pid"] == second["double_pid"]
        steps.stop_double(second)  # the teardown
        wait_gone(second["double_pid"], within_s=1)
    finally:
        for info in (first, second):
            if not gone(info["double_pid"]):
                os.kill(info["double_pid"], signal.SIGKILL)


def test_a_detached_double_does_not_inherit_the_starters_stdin(tmp_path):
    """Under Airflow 3 a task's stdin is the supervisor's request socket: a double keeping it open made the supervisor
    wait 60 s after the setup task had finished. The detached double reads /dev/null instead."""
    import socket as socketlib

    a, b = socketlib.socketpair()
    saved = os.dup(0)
    os.dup2(a.fileno(), 0)  # this process's stdin is a socket, as a task's is
    try:
        url, pid = start_detached(tmp_path / "double.log", idle_timeout_s=30.0, pidfile=tmp_path / "d.pid", run_id="stdin")
    finally:
        os.dup2(saved, 0)
        os.close(saved)
    try:
        assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
        inherited = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        assert not any(t.startswith("socket:") and t == os.readlink(f"/proc/self/fd/{a.fileno()}") for t in inherited)
    finally:
        stop_by_pidfile(tmp_path / "d.pid")
        a.close()
        b.close()
