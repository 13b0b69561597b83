"""The multi-worker deployment (CeleryExecutor, two workers, the double and S3 as services) started from the venv
and driven through the REST API: `make deploy-test` (deploy/local.py test). Needs this machine's PostgreSQL and
Redis; skipped with the reason otherwise, or when MANGAEVAL_SKIP_DEPLOY_TEST=1."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.deploy]


def test_deployment_runs_model_evaluation_on_two_workers_and_stops_at_the_gate_when_throttled(tmp_path):
    if os.environ.get("MANGAEVAL_SKIP_DEPLOY_TEST") == "1":
        pytest.skip("MANGAEVAL_SKIP_DEPLOY_TEST=1")
    sys.path.insert(0, str(ROOT / "deploy"))
    try:
        from local import check_services
    finally:
        sys.path.remove(str(ROOT / "deploy"))
    problem = check_services()
    if problem:
        pytest.skip(f"{problem}: the deployment needs PostgreSQL and Redis")
    proc = subprocess.run([sys.executable, str(ROOT / "deploy" / "local.py"), "test"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "MANGAEVAL_DEPLOY_DIR": str(tmp_path / "deploy")}, timeout=900)
    print(proc.stdout[-6000:])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "deploy-test passed" in proc.stdout
