"""`make deploy-test`: the deployment of deploy/local.py, driven only through Airflow's public REST API.

1. up --fresh (model_evaluation manual-only there, so unpausing it schedules nothing next to the test's runs);
2. log in as the UI does (SimpleAuthManager: POST /auth/token), unpause, trigger model_evaluation with no
   logical date (POST /api/v2/dags/model_evaluation/dagRuns), wait; check: success, the routing document in S3,
   task instances on both workers, no pool over its slots at any time (from the task instances' start and end
   times), no task started a double of its own (the double service answered every call);
3. the double service throttles every call (POST /_double/overrides): a second run fails at the validation
   gate, and the routing document and ledger are untouched;
4. a worker is SIGKILLed in the middle of `evaluate` (the double answering at real speed): the scheduler finds the
   task's heartbeat gone, the retry runs on the other worker, the run succeeds; every (configuration, case) row is
   there exactly once, and no call the double had answered before the kill is asked again (the retry reads the
   run's response cache in S3);
5. down. Timings are printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from local import REDIS, RUN, WORKERS, DeployError, _psql, auth_token, down, http, log, running, up, urls

DEPLOY_RUN = {"configs": ["sonnet-3-5-v2", "sonnet-4-5", "haiku-3-5"], "intents": ["faq", "order_tracking"], "limit": 30}
THROTTLED_RUN = {"configs": ["haiku-3-5"], "intents": ["faq"], "limit": 4}
KILL_RUN = {"configs": ["sonnet-3-5-v2"], "intents": ["faq"], "limit": 120}  # one shard: every call is the victim's
# the double at real speed and without injected faults: a shard takes ~15 s, and every repeat is the kill's doing
KILL_DOUBLE = {"time_scale": 1, "throttle_rate": 0, "timeout_rate": 0, "unavailable_rate": 0, "model_error_rate": 0,
               "internal_error_rate": 0, "stream_error_rate": 0}
IN_FLIGHT_MARGIN_S = 0.5  # an answer sent this close to the kill may not have reached the worker's cache
RUN_TIMEOUT_S = float(os.environ.get("MANGAEVAL_DEPLOY_RUN_TIMEOUT_S", "420"))


class Api:
    def __init__(self, state: dict[str, Any]):
        self.state, self.base = state, urls(state)["api"]
        self.token = auth_token(state)

    def call(self, method: str, path: str, doc: Any = None, expect: tuple[int, ...] = (200,)) -> Any:
        for attempt in range(3):  # a loaded machine can keep the API server from answering a read within 30 s
            try:
                status, body = http(method, f"{self.base}{path}", doc, self.token, timeout=60)
                break
            except (TimeoutError, ConnectionError, OSError) as exc:
                if method != "GET" or attempt == 2:
                    raise DeployError(f"{method} {path}: no answer from the API server ({exc})") from None
                log(f"{method} {path}: {exc}; asking again")
        if status == 401:  # the token expired: log in again
            self.token = auth_token(self.state)
            status, body = http(method, f"{self.base}{path}", doc, self.token)
        if status not in expect:
            raise DeployError(f"{method} {path}: {status} {body}")
        return body

    def trigger(self, conf: dict[str, Any]) -> str:
        """As the UI's trigger form: no logical date (Airflow 3 gives the run only its run_after)."""
        run = self.call("POST", "/api/v2/dags/model_evaluation/dagRuns", {"logical_date": None, "conf": conf}, expect=(200, 201))
        assert run["logical_date"] is None and run["run_type"] == "manual", run
        return run["dag_run_id"]

    def wait(self, run_id: str, timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = self.call("GET", f"/api/v2/dags/model_evaluation/dagRuns/{run_id}")
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(2)
        raise DeployError(f"run {run_id} not finished after {timeout_s:.0f}s (state {run['state']}): {self.task_states(run_id)}")

    def task_instances(self, run_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/api/v2/dags/model_evaluation/dagRuns/{run_id}/taskInstances?limit=500")["task_instances"]

    def task_states(self, run_id: str) -> dict[str, str]:
        return {_ti_name(ti): ti["state"] for ti in self.task_instances(run_id)}


def _ti_name(ti: dict[str, Any]) -> str:
    return ti["task_id"] + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else "")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def max_running_per_pool(tis: list[dict[str, Any]]) -> dict[str, int]:
    """Most task instances of each pool running at once, from their start and end times (an end frees the slot
    before a start at the same instant takes it)."""
    events: dict[str, list[tuple[datetime, int]]] = {}
    for ti in tis:
        if ti.get("start_date") and ti.get("end_date"):
            events.setdefault(ti["pool"], []).extend([(_time(ti["start_date"]), 1), (_time(ti["end_date"]), -1)])
    peaks = {}
    for pool, evs in events.items():
        running = peak = 0
        for _, step in sorted(evs, key=lambda e: (e[0], e[1])):
            running += step
            peak = max(peak, running)
        peaks[pool] = peak
    return peaks


def s3_client(state: dict[str, Any]):
    import boto3

    return boto3.client("s3", endpoint_url=urls(state)["s3"], region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def routing_objects(state: dict[str, Any]) -> dict[str, bytes]:
    s3 = s3_client(state)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="mangaassist", Prefix="serving/routing/").get("Contents", [])]
    return {k: s3.get_object(Bucket="mangaassist", Key=k)["Body"].read() for k in keys}


def double_processes() -> list[str]:
    """Command lines of `mangaeval double serve` processes started for a run (a setup task's double has --run-id)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            text = " ".join(a.decode(errors="replace") for a in argv)
            if "double" in text and "serve" in text and "--run-id" in text and str(RUN) in (proc / "environ").read_bytes().decode(errors="replace"):
                found.append(f"{proc.name}: {text}")
    return found


def descendants(root: int) -> list[int]:
    """Every process below `root` (children, their children...), from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def double_stats(state: dict[str, Any]) -> dict[str, Any]:
    return http("GET", f"{urls(state)['double']}/_double/stats")[1]


def check_successful_run(api: Api, state: dict[str, Any], timings: dict[str, float]) -> list[str]:
    problems = []
    calls_before = double_stats(state)["total_calls"]
    t0 = time.monotonic()
    run_id = api.trigger(DEPLOY_RUN)
    log(f"triggered {run_id} with {DEPLOY_RUN}")
    run = api.wait(run_id)
    timings["successful run"] = time.monotonic() - t0
    tis = api.task_instances(run_id)
    states = {_ti_name(ti): ti["state"] for ti in tis}
    log(f"{run_id}: {run['state']} in {timings['successful run']:.0f}s; tasks: {states}")
    if run["state"] != "success":
        return [f"run {run_id} ended {run['state']}: {states}"]
    # the routing document in S3 (moto)
    routing = routing_objects(state)
    current = json.loads(routing.get("serving/routing/current.json", b"null"))
    if not current or current.get("ledger_version") != 1 or "serving/routing/ledger/v000001.json" not in routing:
        problems.append(f"routing document not published to s3://mangaassist/serving/routing/: keys {sorted(routing)}")
    else:
        nightly = sorted(i for i, r in current["routes"].items() if r["set_by"]["kind"] == "nightly")
        log(f"routing: current.json ledger_version {current['ledger_version']}, routes set by the run: {nightly}")
        if nightly != sorted(DEPLOY_RUN["intents"]):
            problems.append(f"routes set by the run {nightly}, expected {DEPLOY_RUN['intents']}")
    # both workers ran task instances
    hosts: dict[str, int] = {}
    for ti in tis:
        if ti["state"] != "skipped":  # a skipped task (a tier with no shard) ran nowhere
            hosts[ti.get("hostname") or "?"] = hosts.get(ti.get("hostname") or "?", 0) + 1
    log(f"task instances per worker: {hosts}")
    if set(hosts) != set(WORKERS):
        problems.append(f"task instances ran on {sorted(hosts)}, expected both of {list(WORKERS)}")
    # no pool over its slots
    slots = {p["name"]: p["slots"] for p in api.call("GET", "/api/v2/pools")["pools"]}
    peaks = max_running_per_pool(tis)
    log(f"most running at once per pool: {peaks}; slots: { {p: slots.get(p) for p in peaks} }")
    for pool, peak in peaks.items():
        if pool in slots and slots[pool] >= 0 and peak > slots[pool]:
            problems.append(f"pool {pool}: {peak} task instances ran at once, it has {slots[pool]} slots")
    if peaks.get("bedrock_sonnet", 0) < 1:
        problems.append("no evaluate task ran in pool bedrock_sonnet")
    # no task started a double of its own: the setup task found the endpoint, the service answered every call
    setup = api.call("GET", f"/api/v2/dags/model_evaluation/dagRuns/{run_id}/taskInstances/start_model_double/xcomEntries/return_value")
    started = setup["value"] if isinstance(setup["value"], dict) else json.loads(setup["value"])
    answered = double_stats(state)["total_calls"] - calls_before
    expected_calls = len(DEPLOY_RUN["configs"]) * len(DEPLOY_RUN["intents"]) * DEPLOY_RUN["limit"]
    log(f"start_model_double returned {started}; the double service answered {answered} calls (at least {expected_calls} expected)")
    if started.get("double_pid") or started.get("endpoint_url") != urls(state)["double"]:
        problems.append(f"start_model_double did not use the deployment's double: {started}")
    pidfiles = sorted(p.name for p in (RUN / "data" / "double").glob("*")) if (RUN / "data" / "double").exists() else []
    if pidfiles or double_processes():
        problems.append(f"a task started a double: files {pidfiles}, processes {double_processes()}")
    if answered < expected_calls:
        problems.append(f"the double service answered {answered} calls, fewer than the run's {expected_calls} cases")
    return problems


def check_throttled_run(api: Api, state: dict[str, Any], timings: dict[str, float]) -> list[str]:
    before = routing_objects(state)
    double = urls(state)["double"]
    status, body = http("POST", f"{double}/_double/overrides", {"throttle_rate": 1})
    if status != 200:
        return [f"could not make the double throttle: {status} {body}"]
    try:
        t0 = time.monotonic()
        run_id = api.trigger(THROTTLED_RUN)
        log(f"the double throttles every call; triggered {run_id} with {THROTTLED_RUN}")
        run = api.wait(run_id)
        timings["throttled run"] = time.monotonic() - t0
    finally:
        http("POST", f"{double}/_double/overrides", {})
    states = api.task_states(run_id)
    log(f"{run_id}: {run['state']} in {timings['throttled run']:.0f}s; tasks: {states}")
    problems = []
    if run["state"] != "failed" or states.get("validation_gate") != "failed":
        problems.append(f"throttled run: expected a failed run stopped at validation_gate, got {run['state']}: {states}")
    for task in ("load_warehouse", "decide", "publish_routing"):
        if states.get(task) != "upstream_failed":
            problems.append(f"throttled run: {task} is {states.get(task)}, expected upstream_failed")
    after = routing_objects(state)
    if after != before:
        problems.append(f"throttled run changed routing: {sorted(set(after) ^ set(before)) or 'same keys, other content'}")
    else:
        log(f"routing untouched ({len(after)} objects identical)")
    return problems


def check_killed_worker(api: Api, state: dict[str, Any], timings: dict[str, float]) -> list[str]:
    import io

    import pandas as pd
    import signal

    double = urls(state)["double"]
    http("POST", f"{double}/_double/reset")
    status, body = http("POST", f"{double}/_double/overrides", KILL_DOUBLE)
    if status != 200:
        return [f"could not shape the double: {status} {body}"]
    try:
        t0 = time.monotonic()
        run_id = api.trigger(KILL_RUN)
        log(f"triggered {run_id} with {KILL_RUN}; waiting for an evaluate task to be half-way")
        victim, deadline = None, time.monotonic() + 240
        while victim is None and time.monotonic() < deadline:
            busy = [ti for ti in api.task_instances(run_id) if ti["task_id"].startswith("evaluate") and ti["state"] == "running"]
            if busy and double_stats(state)["total_calls"] >= 40:
                victim = busy[0]
            else:
                time.sleep(0.5)
        if victim is None:
            return [f"no evaluate task ran long enough to be killed: {api.task_states(run_id)}"]
        worker = victim["hostname"]
        answered_before = double_stats(state)["total_calls"]
        pid = running().get(worker)
        if pid is None:
            return [f"task {_ti_name(victim)} runs on {worker!r}, which is not one of the started workers {list(WORKERS)}"]
        # as if the host died: every process of that worker, also task processes outside its process group
        doomed = descendants(pid)
        killed_at = time.time()
        os.killpg(pid, signal.SIGKILL)
        for other in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(other, signal.SIGKILL)
        log(f"SIGKILLed worker {worker} (process group {pid} and {len(doomed)} processes of it) while {_ti_name(victim)} ran; "
            f"the double had answered {answered_before} calls")
        run = api.wait(run_id, timeout_s=RUN_TIMEOUT_S + 300)
        timings["killed-worker run"] = time.monotonic() - t0
    finally:
        http("POST", f"{double}/_double/overrides", {})
    tis = api.task_instances(run_id)
    log(f"{run_id}: {run['state']} in {timings['killed-worker run']:.0f}s; tasks: { {_ti_name(ti): ti['state'] for ti in tis} }")
    if run["state"] != "success":
        return [f"killed-worker run ended {run['state']}: { {_ti_name(ti): ti['state'] for ti in tis} }"]
    problems = []
    retried = next(ti for ti in tis if _ti_name(ti) == _ti_name(victim))
    log(f"{_ti_name(victim)}: try {retried['try_number']} on {retried['hostname']}")
    if retried["try_number"] < 2 or retried["hostname"] == worker:
        problems.append(f"{_ti_name(victim)} was not retried on the other worker: try {retried['try_number']} on {retried['hostname']}")
    s3 = s3_client(state)
    for intent in KILL_RUN["intents"]:
        key = f"eval/results/run_id={run_id}/config_id={KILL_RUN['configs'][0]}/intent={intent}.parquet"
        frame = pd.read_parquet(io.BytesIO(s3.get_object(Bucket="mangaassist", Key=key)["Body"].read()))
        doubled = int(frame["test_id"].duplicated().sum())
        if len(frame) != KILL_RUN["limit"] or doubled:
            problems.append(f"{key}: {len(frame)} rows ({doubled} doubled), expected {KILL_RUN['limit']} distinct cases")
    stats = double_stats(state)
    again = stats["asked_again"]
    paid_twice = [a for a in again if a["answered_at"] < killed_at - IN_FLIGHT_MARGIN_S]
    cases = len(KILL_RUN["intents"]) * KILL_RUN["limit"]
    if stats["total_calls"] < cases:
        problems.append(f"the double answered {stats['total_calls']} calls for {cases} cases")
    log(f"the double received {stats['total_calls']} calls for {cases} cases ({stats['total_calls'] - cases} more: in flight at the kill, "
        f"their answers never reached the worker); asked again after the double had sent the answer: {len(again)}, of which "
        f"answered more than {IN_FLIGHT_MARGIN_S}s before the kill (paid twice): {len(paid_twice)}")
    if paid_twice:
        problems.append(f"{len(paid_twice)} call(s) answered before the kill were asked (and paid) again: {paid_twice[:3]}")
    return problems


def drop_deployment_data() -> None:
    """The test's database and broker db go with it (each test folder gets names of its own)."""
    import redis

    from local import load_state

    try:
        state = load_state()
    except DeployError:
        return
    _psql(f'DROP DATABASE IF EXISTS "{state["database"]}" WITH (FORCE)')
    redis.Redis.from_url(f"{REDIS}/{state['redis_db']}").flushdb()


def run_checks(keep: bool = False) -> int:
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    problems: list[str] = []
    try:
        state = up(fresh=True, schedule="none")
        timings["deploy-up"] = time.monotonic() - t0
        api = Api(state)
        api.call("PATCH", "/api/v2/dags/model_evaluation", {"is_paused": False})
        problems += check_successful_run(api, state, timings)
        if not problems:
            problems += check_throttled_run(api, state, timings)
        if not problems:
            problems += check_killed_worker(api, state, timings)
    except DeployError as exc:
        problems.append(str(exc))
    finally:
        if not keep:
            t_down = time.monotonic()
            down()
            timings["deploy-down"] = time.monotonic() - t_down
            drop_deployment_data()
    timings["total"] = time.monotonic() - t0
    print("deploy-test timings: " + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()), flush=True)
    if problems:
        print("deploy-test FAILED:\n  - " + "\n  - ".join(problems) + f"\n(logs: {RUN / 'logs'})", flush=True)
        return 1
    print("deploy-test passed: success on both workers within pool slots, routing in S3, the double service only; "
          "a throttled run stopped at the gate with routing untouched; a run survived a SIGKILLed worker with every row "
          "once and no answered call paid again", flush=True)
    return 0
