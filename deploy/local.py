"""The multi-worker deployment of docker-compose.yaml, started without Docker from the project's venv.

    python deploy/local.py up [--fresh]   # make deploy-up
    python deploy/local.py status
    python deploy/local.py down           # make deploy-down: stops exactly what `up` started, by PID file
    python deploy/local.py test           # make deploy-test: up --fresh, two runs through the REST API, checks, down

Services (each its own process group, PID file in RUN/pids, log in RUN/logs): the local S3 server (moto), the
model double, and Airflow's api-server, scheduler, dag-processor, triggerer and two Celery workers with distinct
hostnames, on the machine's PostgreSQL (one database per run folder: metadata, Celery results and, in schema
`warehouse`, the warehouse) and Redis (the broker; a queue of this run folder's own). RUN is .deploy/ in the
project (MANGAEVAL_DEPLOY_DIR). Secrets (Fernet key, JWT secret, the admin's password) are generated into
RUN/state.json (mode 600) at the first `up`: nothing here works with a default secret.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RUN = Path(os.environ.get("MANGAEVAL_DEPLOY_DIR") or ROOT / ".deploy").resolve()
PG = os.environ.get("MANGAEVAL_DEPLOY_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("MANGAEVAL_DEPLOY_REDIS", "redis://127.0.0.1:6379")
BUCKET = "mangaassist"
WORKERS = ("worker-1", "worker-2")
WORKER_CONCURRENCY = int(os.environ.get("MANGAEVAL_DEPLOY_WORKER_CONCURRENCY", "3"))
# Settings of the shell that would point the services somewhere else: the deployment sets its own.
_DROP = ("MANGAEVAL_BEDROCK_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "MANGAEVAL_SAGEMAKER_ENDPOINT_URL",
         "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "MANGAEVAL_WAREHOUSE_URI",
         "MANGAEVAL_USE_DOUBLE", "MANGAEVAL_DOUBLE_OVERRIDES", "AIRFLOW_HOME")


class DeployError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[deploy {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- state, names, ports
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_state() -> dict[str, Any]:
    """Names of this run folder's own (two deployments on one machine share nothing) and fresh secrets."""
    tag = hashlib.sha256(str(RUN).encode()).hexdigest()[:8]
    return {
        "database": f"mangaeval_deploy_{tag}", "redis_db": 2 + int(tag, 16) % 14, "queue": f"mangaeval-{tag}",
        "ports": {"api": free_port(), "double": free_port(), "s3": free_port(), "triggerer_logs": free_port(),
                  **{f"{w}_logs": free_port() for w in WORKERS}},
        "fernet_key": base64.urlsafe_b64encode(os.urandom(32)).decode(), "jwt_secret": secrets.token_urlsafe(32),
        "api_secret": secrets.token_urlsafe(32), "admin_password": secrets.token_urlsafe(12),
    }


def load_state() -> dict[str, Any]:
    path = RUN / "state.json"
    if not path.exists():
        raise DeployError(f"no deployment in {RUN} (make deploy-up)")
    return json.loads(path.read_text())


def save_state(state: dict[str, Any]) -> None:
    RUN.mkdir(parents=True, exist_ok=True)
    path = RUN / "state.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(state, indent=2))


def urls(state: dict[str, Any]) -> dict[str, str]:
    p = state["ports"]
    return {"api": f"http://127.0.0.1:{p['api']}", "double": f"http://127.0.0.1:{p['double']}", "s3": f"http://127.0.0.1:{p['s3']}"}


def environment(state: dict[str, Any], *, init: bool = False) -> dict[str, str]:
    """The environment every Airflow service gets (as x-airflow-common in docker-compose.yaml)."""
    u, home, db = urls(state), RUN / "airflow_home", f"{PG}/{state['database']}"
    driver_db = db.replace("postgresql://", "postgresql+psycopg://", 1)
    env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update({
        "AIRFLOW_HOME": str(home), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor", "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__FERNET_KEY": state["fernet_key"],
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "mangaeval.deployment.worker_hostname",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{u['api']}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": driver_db,
        "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(state["ports"]["api"]), "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": u["api"], "AIRFLOW__API__SECRET_KEY": state["api_secret"],
        "AIRFLOW__API_AUTH__JWT_SECRET": state["jwt_secret"],
        "AIRFLOW__CELERY__BROKER_URL": f"{REDIS}/{state['redis_db']}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{driver_db}",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": state["queue"],
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(state["ports"]["triggerer_logs"]),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        # a task whose worker died is failed (and retried elsewhere) after 30 s without a heartbeat, not Airflow's 300 s
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": os.environ.get("MANGAEVAL_DEPLOY_HEARTBEAT_TIMEOUT_S", "30"),
        "MANGAEVAL_EVALUATION_SCHEDULE": state.get("schedule", "0 2 * * *"),
        "MANGAEVAL_DATA_DIR": str(RUN / "data"), "MANGAEVAL_CACHE_URI": f"s3://{BUCKET}/cache/responses",
        "MANGAEVAL_RESULTS_URI": f"s3://{BUCKET}/eval", "MANGAEVAL_ROUTING_URI": f"s3://{BUCKET}/serving",
        "MANGAEVAL_EVENTS_URI": f"s3://{BUCKET}/events",
        "MANGAEVAL_AWS_CONN_ID": "aws_default", "MANGAEVAL_WAREHOUSE_CONN_ID": "mangaeval_warehouse",
    })
    if init:  # connections: only the init job holds them; it writes them, encrypted, into the metadata database
        env["MANGAEVAL_CONN_AWS_DEFAULT"] = json.dumps({
            "conn_type": "aws", "login": "testing", "password": "testing",
            "extra": {"region_name": "us-east-1", "service_config": {
                "bedrock-runtime": {"endpoint_url": u["double"]}, "sagemaker-runtime": {"endpoint_url": u["double"]},
                "s3": {"endpoint_url": u["s3"]}}}})
        env["MANGAEVAL_CONN_MANGAEVAL_WAREHOUSE"] = json.dumps({
            "conn_type": "postgres", "host": "127.0.0.1", "port": int(PG.rsplit(":", 1)[1]), "login": "postgres",
            "schema": state["database"], "extra": {"warehouse_schema": "warehouse"}})
    return env


# ---------------------------------------------------------------- processes
def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def start(name: str, argv: list[str], env: dict[str, str]) -> int:
    (RUN / "logs").mkdir(parents=True, exist_ok=True)
    (RUN / "pids").mkdir(parents=True, exist_ok=True)
    with open(RUN / "logs" / f"{name}.log", "ab") as out:
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)  # its own process group: down stops it and its children
    (RUN / "pids" / f"{name}.pid").write_text(json.dumps({"pid": proc.pid, "start": _start_time(proc.pid), "argv": argv}))
    return proc.pid


def running() -> dict[str, int]:
    """Services whose PID file names a live process that is the one started (its start time checked)."""
    alive = {}
    for path in sorted((RUN / "pids").glob("*.pid")) if (RUN / "pids").exists() else []:
        info = json.loads(path.read_text())
        if _start_time(info["pid"]) == info["start"]:
            alive[path.stem] = info["pid"]
    return alive


def _group_alive(pgid: int) -> bool:
    """A process of the group is still there and not a zombie (a child of this process is reaped here)."""
    with _suppress_child():
        os.waitpid(pgid, os.WNOHANG)
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


class _suppress_child:
    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        return kind is not None and issubclass(kind, ChildProcessError)


def down(timeout_s: float = 30.0) -> None:
    """SIGTERM each started process group (PID file, start time checked), SIGKILL what is left after timeout_s."""
    groups = running()
    for name in sorted((RUN / "pids").glob("*.pid")) if (RUN / "pids").exists() else []:
        if name.stem not in groups:
            name.unlink()  # stale: that process is gone
    for name, pid in groups.items():
        log(f"stopping {name} (process group {pid})")
        with _suppress():
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while any(_group_alive(p) for p in groups.values()) and time.monotonic() < deadline:
        time.sleep(0.3)
    for name, pid in groups.items():
        if _group_alive(pid):
            log(f"{name} still running after {timeout_s:.0f}s: SIGKILL")
            with _suppress():
                os.killpg(pid, signal.SIGKILL)
        (RUN / "pids" / f"{name}.pid").unlink(missing_ok=True)
    log(f"stopped {len(groups)} service(s)" if groups else "nothing was running")


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        return kind is not None and issubclass(kind, ProcessLookupError)


def wait_for(what: str, check, timeout_s: float, log_name: str | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        if log_name and log_name not in running():
            raise DeployError(f"{what}: the process exited; see {RUN / 'logs' / (log_name + '.log')}:\n{_tail(log_name)}")
        time.sleep(0.5)
    raise DeployError(f"{what}: not ready after {timeout_s:.0f}s; see {RUN / 'logs'}" + (f":\n{_tail(log_name)}" if log_name else ""))


def _tail(name: str, lines: int = 30) -> str:
    path = RUN / "logs" / f"{name}.log"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def http(method: str, url: str, doc: Any = None, token: str | None = None, timeout: float = 30) -> tuple[int, Any]:
    data = json.dumps(doc).encode() if doc is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, _body(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _body(exc.read())


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


# ---------------------------------------------------------------- up
def _psql(sql: str, database: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(f"{PG}/{database}", autocommit=True, connect_timeout=5) as con:
        con.execute(sql)


def check_services() -> str | None:
    """Why the deployment cannot start here (None: PostgreSQL and Redis answer)."""
    import psycopg
    import redis

    try:
        psycopg.connect(f"{PG}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL is not reachable at {PG} ({str(exc).strip().splitlines()[0]})"
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {REDIS} ({exc})"
    return None


def up(fresh: bool = False, schedule: str | None = None) -> dict[str, Any]:
    if running():
        raise DeployError(f"already running from {RUN}: {sorted(running())} (make deploy-down first)")
    problem = check_services()
    if problem:
        raise DeployError(problem)
    t0 = time.monotonic()
    state = new_state() if fresh or not (RUN / "state.json").exists() else load_state()
    if schedule is not None:
        state["schedule"] = schedule
    save_state(state)
    u = urls(state)
    import psycopg

    if fresh:
        _psql(f'DROP DATABASE IF EXISTS "{state["database"]}" WITH (FORCE)')
        import redis

        redis.Redis.from_url(f"{REDIS}/{state['redis_db']}").flushdb()
        for sub in ("data", "airflow_home", "logs"):
            subprocess.run(["rm", "-rf", str(RUN / sub)], check=True)
    try:
        _psql(f'CREATE DATABASE "{state["database"]}"')
    except psycopg.errors.DuplicateDatabase:
        pass
    _psql("CREATE SCHEMA IF NOT EXISTS warehouse", state["database"])
    home = RUN / "airflow_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "passwords.json").write_text(json.dumps({"admin": state["admin_password"]}))
    (RUN / "data").mkdir(exist_ok=True)

    env = environment(state)
    start("s3", [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(state["ports"]["s3"])], env)
    start("model-double", [str(VENV_BIN / "mangaeval"), "double", "serve", "--host", "127.0.0.1", "--port", str(state["ports"]["double"]),
                           "--time-scale", os.environ.get("MANGAEVAL_DEPLOY_DOUBLE_TIME_SCALE", "0")], env)
    log("init: airflow db migrate, pools from quotas.yaml, connections")
    t_init = time.monotonic()
    init = subprocess.run([sys.executable, "-m", "mangaeval.deployment", "init", str(VENV_BIN / "airflow")],
                          env=environment(state, init=True), cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    (RUN / "logs").mkdir(exist_ok=True)
    (RUN / "logs" / "init.log").write_text(init.stdout + init.stderr)
    if init.returncode:
        down()
        raise DeployError(f"init failed (exit {init.returncode}):\n{(init.stdout + init.stderr)[-3000:]}")
    log(f"init done in {time.monotonic() - t_init:.0f}s")
    airflow = str(VENV_BIN / "airflow")
    start("api-server", [airflow, "api-server"], env)
    start("scheduler", [airflow, "scheduler"], env)
    start("dag-processor", [airflow, "dag-processor"], env)
    start("triggerer", [airflow, "triggerer"], env)
    for worker in WORKERS:
        worker_env = {**env, "MANGAEVAL_WORKER_HOSTNAME": worker,
                      "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(state["ports"][f"{worker}_logs"])}
        start(worker, [airflow, "celery", "worker", "--celery-hostname", f"{worker}@%h", "--queues", state["queue"],
                       "--concurrency", str(WORKER_CONCURRENCY)], worker_env)

    import boto3

    wait_for("S3 server (moto)", lambda: http("GET", u["s3"])[0] == 200, 60, "s3")
    boto3.client("s3", endpoint_url=u["s3"], region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
    wait_for("model double", lambda: http("GET", f"{u['double']}/ping")[0] == 200, 60, "model-double")
    wait_for("api-server", lambda: http("GET", f"{u['api']}/api/v2/monitor/health")[0] == 200, 180, "api-server")
    for worker in WORKERS:
        wait_for(worker, lambda w=worker: f"{w}@" in _tail(w, 400) and " ready." in _tail(w, 400), 180, worker)
    token = auth_token(state)
    wait_for("model_evaluation parsed", lambda: http("GET", f"{u['api']}/api/v2/dags/model_evaluation", token=token)[0] == 200, 180,
             "dag-processor")
    log(f"up in {time.monotonic() - t0:.0f}s: UI and REST API {u['api']} (user admin, password in {RUN / 'state.json'}), "
        f"model double {u['double']}, S3 {u['s3']} (bucket {BUCKET}), metadata + warehouse database {state['database']}, "
        f"broker {REDIS}/{state['redis_db']} queue {state['queue']}; logs in {RUN / 'logs'}")
    return state


def auth_token(state: dict[str, Any]) -> str:
    """As the UI logs in with SimpleAuthManager: POST /auth/token with the user's name and password."""
    status, body = http("POST", f"{urls(state)['api']}/auth/token", {"username": "admin", "password": state["admin_password"]})
    if status not in (200, 201) or not isinstance(body, dict) or "access_token" not in body:
        raise DeployError(f"POST /auth/token: {status} {body}")
    return body["access_token"]


def status() -> int:
    alive = running()
    for path in sorted((RUN / "pids").glob("*.pid")) if (RUN / "pids").exists() else []:
        print(f"{path.stem:15} {'running pid ' + str(alive[path.stem]) if path.stem in alive else 'not running (stale pid file)'}")
    if not alive:
        print(f"nothing running from {RUN}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/local.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start every service (make deploy-up)")
    p_up.add_argument("--fresh", action="store_true", help="new database, broker queue, secrets and data")
    p_up.add_argument("--schedule", help="model_evaluation's schedule here (MANGAEVAL_EVALUATION_SCHEDULE; 'none': manual only)")
    sub.add_parser("down", help="stop what up started, by PID file (make deploy-down)")
    sub.add_parser("status")
    p_test = sub.add_parser("test", help="up --fresh, the checks of deploy/checks.py, down (make deploy-test)")
    p_test.add_argument("--keep", action="store_true", help="leave the deployment running afterwards")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            up(fresh=args.fresh, schedule=args.schedule)
        elif args.command == "down":
            down()
        elif args.command == "status":
            return status()
        else:
            sys.path.insert(0, str(ROOT / "deploy"))
            from checks import run_checks

            return run_checks(keep=args.keep)
    except DeployError as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
