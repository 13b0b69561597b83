"""The dashboards as a FastAPI app, served by the Airflow API server under the plugin's prefix (plugins/
mangaeval_dashboards.py). Read-only: GET routes only. Every route depends on the API server's own authentication
(the JWT of the logged-in user, from the `Authorization: Bearer` header or the `_token` cookie the Airflow UI sets)
and on the auth manager's permission to read the runs of the DAG whose data the page shows, so an anonymous request
gets 401/403 and nothing is served."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

from mangaeval.dashboards import pages
from mangaeval.dashboards.queries import BadInput, NotFound, Reader, routing_view
from mangaeval.errors import MangaEvalError

log = logging.getLogger(__name__)

# Which DAG's runs a page shows: a user must be allowed to read that DAG's runs (auth manager) to see the page.
PAGE_DAGS = {"evaluation": "model_evaluation", "answers": "model_evaluation", "case": "model_evaluation",
             "routing": "model_evaluation", "experiments": "ab_analysis", "rollouts": "canary_rollout",
             "benchmarks": "model_benchmark", "static": None}
PLOTLY_JS = None  # path of plotly.min.js inside the plotly package, found at app creation


def plotly_js_path() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@contextlib.contextmanager
def open_warehouse() -> Iterator[Any]:
    """The warehouse the DAGs write, opened for one request. A DuckDB file is opened read-only, so a page never holds
    the writer's lock (and cannot change a row); with MANGAEVAL_WAREHOUSE_CONN_ID (docker-compose) the Airflow
    connection the DAGs use (PostgreSQL or Redshift); else MANGAEVAL_WAREHOUSE_URI (mangaeval.warehouse.connect)."""
    from mangaeval.paths import DATA_DIR
    from mangaeval.warehouse import connect

    uri = os.environ.get("MANGAEVAL_WAREHOUSE_URI") or f"duckdb:///{DATA_DIR / 'warehouse.duckdb'}"
    parsed = urlparse(uri)
    if parsed.scheme == "duckdb" and not os.environ.get("MANGAEVAL_WAREHOUSE_CONN_ID"):
        from mangaeval.warehouse.duckdb_engine import DuckDBWarehouse

        if not Path(parsed.path).is_file():
            raise NotFound(f"no warehouse yet at {parsed.path}: run model_evaluation (make run) first")
        warehouse = DuckDBWarehouse(parsed.path, read_only=True)
    elif os.environ.get("MANGAEVAL_WAREHOUSE_CONN_ID"):  # the deployment's warehouse connection, as the DAGs' tasks use it
        from mangaeval.connections import Connections, airflow_connections

        settings = Connections.from_settings()
        with airflow_connections(settings.aws_conn_id, settings.warehouse_conn_id):
            warehouse = connect()
    else:
        warehouse = connect()
    try:
        yield warehouse
    finally:
        warehouse.close()


def airflow_access(dag_id: str) -> Callable[..., Any]:
    """A FastAPI dependency: the API server's user (GetUserDep: 401 without a token, 403 with an invalid one), who
    must be allowed to GET the runs of `dag_id` (403 otherwise)."""
    from fastapi import Depends, HTTPException

    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.api_fastapi.core_api.security import get_user

    # Depends(get_user) as a default, not the GetUserDep annotation: this module's annotations are strings (from
    # __future__ import annotations) that FastAPI could not resolve for a name imported inside the function.
    def dependency(user: Any = Depends(get_user)) -> Any:
        if not get_auth_manager().is_authorized_dag(method="GET", access_entity=DagAccessEntity.RUN, details=DagDetails(id=dag_id), user=user):
            raise HTTPException(status_code=403, detail=f"not allowed to read the runs of {dag_id}")
        return user

    return dependency


def authenticated_only() -> Callable[..., Any]:
    from fastapi import Depends

    from airflow.api_fastapi.core_api.security import get_user

    def dependency(user: Any = Depends(get_user)) -> Any:
        return user

    return dependency


def create_app(access: Callable[[str | None], Callable[..., Any]] | None = None, routing_store: Callable[[], Any] | None = None):
    """The app. `access(dag_id)` makes the dependency guarding a page (default: the Airflow API server's
    authentication and auth manager, see airflow_access); `routing_store()` opens the object store holding the ledger."""
    from fastapi import Depends, FastAPI, Request
    from fastapi.middleware.gzip import GZipMiddleware
    from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

    from mangaeval.objectstore import open_store

    access = access or (lambda dag_id: airflow_access(dag_id) if dag_id else authenticated_only())
    routing_store = routing_store or open_store
    app = FastAPI(title="MangaEval dashboards", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(GZipMiddleware, minimum_size=2048)  # plotly.min.js is 4.8 MB, 1.5 MB gzipped

    def guarded(page: str) -> Any:
        return Depends(access(PAGE_DAGS[page]))

    def respond(page: str, build: Callable[[Reader], str]) -> HTMLResponse:
        started = time.perf_counter()
        try:
            with open_warehouse() as warehouse:
                body = build(Reader(warehouse))
            status = 200
        except NotFound as exc:
            body, status = pages.message_page("No such run" if re.search(r"\brun\b", str(exc)) else "Not found", str(exc), page), 404
        except BadInput as exc:
            body, status = pages.message_page("Bad request", str(exc), page), 400
        except MangaEvalError as exc:
            body, status = pages.message_page("Cannot show this page", str(exc), page), 503
        except Exception as exc:  # a database error: say what failed, keep the traceback in the server log only
            log.exception("dashboard page %s failed", page)
            text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            hint = " (the warehouse may predate the dashboard views: the next model_evaluation run creates them)" if "does not exist" in text or "not found" in text.lower() else ""
            body, status = pages.message_page("Cannot show this page", f"the warehouse could not answer: {text}{hint}", page), 503
        response = HTMLResponse(body, status_code=status)
        response.headers["Server-Timing"] = f"render;dur={(time.perf_counter() - started) * 1000:.1f}"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/", include_in_schema=False)
    def index(_: Any = guarded("evaluation")) -> RedirectResponse:
        return RedirectResponse("evaluation", status_code=307)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js(_: Any = guarded("static")) -> FileResponse:
        return FileResponse(plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    @app.get("/evaluation", response_class=HTMLResponse)
    def evaluation(run_id: str | None = None, intent: str | None = None, _: Any = guarded("evaluation")) -> HTMLResponse:
        def build(reader: Reader) -> str:
            runs = reader.runs()
            chosen = run_id or (runs[0]["run_id"] if runs else None)
            if chosen is None:
                raise NotFound("no evaluation run in the warehouse yet: run model_evaluation (make run)")
            intents, picked = reader.checked_intent(chosen, intent)
            return pages.evaluation_page(runs, chosen, intents, picked, reader.evaluation(chosen, picked), reader.trend(picked),
                                         reader.calibrated_projection(chosen))

        return respond("evaluation", build)

    @app.get("/answers", response_class=HTMLResponse)
    def answers(run_id: str | None = None, intent: str | None = None, language: str | None = None, tag: str | None = None,
                failed: str | None = None, disagree: str | None = None, page: str = "1", _: Any = guarded("answers")) -> HTMLResponse:
        def build(reader: Reader) -> str:
            runs = reader.runs()
            chosen = run_id or (runs[0]["run_id"] if runs else None)
            if chosen is None:
                raise NotFound("no evaluation run in the warehouse yet: run model_evaluation (make run)")
            intents, picked = reader.checked_intent(chosen, intent)
            if not page.isdigit():
                raise BadInput(f"page {page!r}: a page number from 1")
            filters = {"language": language or None, "tag": tag or None, "failed": failed == "1", "disagree": disagree == "1"}
            result = reader.cases(chosen, picked, language=filters["language"], tag=filters["tag"], failed_only=filters["failed"],
                                  disagree_only=filters["disagree"], page=int(page))
            return pages.answers_page(runs, chosen, intents, picked, result, filters)

        return respond("answers", build)

    @app.get("/case", response_class=HTMLResponse)
    def case(run_id: str, test_id: str, _: Any = guarded("case")) -> HTMLResponse:
        return respond("answers", lambda reader: pages.case_page(reader.case(run_id, test_id)))

    @app.get("/routing", response_class=HTMLResponse)
    def routing(a: str | None = None, b: str | None = None, _: Any = guarded("routing")) -> HTMLResponse:
        def build(reader: Reader) -> str:
            return pages.routing_page(routing_view(routing_store(), a, b))

        return respond("routing", build)

    @app.get("/experiments", response_class=HTMLResponse)
    def experiments(experiment_id: str | None = None, _: Any = guarded("experiments")) -> HTMLResponse:
        def build(reader: Reader) -> str:
            found = reader.experiments()
            chosen = experiment_id or (found[0]["experiment_id"] if found else None)
            return pages.experiments_page(found, chosen, reader.experiment(chosen) if chosen else None)

        return respond("experiments", build)

    @app.get("/rollouts", response_class=HTMLResponse)
    def rollouts(rollout_id: str | None = None, _: Any = guarded("rollouts")) -> HTMLResponse:
        def build(reader: Reader) -> str:
            found = reader.rollouts()
            chosen = rollout_id or (found[0]["rollout_id"] if found else None)
            return pages.rollouts_page(found, chosen, reader.rollout(chosen) if chosen else None)

        return respond("rollouts", build)

    @app.get("/benchmarks", response_class=HTMLResponse)
    def benchmarks(environment: str | None = None, config_id: str | None = None, _: Any = guarded("benchmarks")) -> HTMLResponse:
        def build(reader: Reader) -> str:
            environments = reader.benchmark_environments()
            if not environments:
                return pages.benchmarks_empty_page()
            chosen, configs, config = reader.checked_benchmark_filters(environments, environment, config_id)
            return pages.benchmarks_page(environments, chosen, configs, config, reader.benchmark_trend(chosen, config),
                                         reader.benchmark_latest(chosen, config))

        return respond("benchmarks", build)

    return app
