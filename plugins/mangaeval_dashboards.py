"""MangaEval dashboards in the Airflow UI (Airflow 3.1+ plugin interface: a FastAPI app served by the API server, and
navigation entries that embed its pages). Thin: the pages, queries and access checks are in mangaeval.dashboards."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from mangaeval.dashboards.app import create_app

URL_PREFIX = "/mangaeval"
PAGES = (("Evaluation", "evaluation"), ("Answers", "answers"), ("Routing", "routing"), ("Experiments", "experiments"),
         ("Rollouts", "rollouts"), ("Benchmarks", "benchmarks"))


class MangaEvalDashboards(AirflowPlugin):
    name = "mangaeval_dashboards"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "MangaEval dashboards"}]
    # url_route: the UI shows the page inside itself (an iframe on the same origin, so the `_token` cookie of the
    # logged-in user goes with every request); href has no leading slash so it stays relative to the UI's base URL.
    external_views = [{"name": name, "href": f"{URL_PREFIX.lstrip('/')}/{page}", "destination": "nav", "category": "MangaEval",
                       "url_route": f"mangaeval-{page}"} for name, page in PAGES]
