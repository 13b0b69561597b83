#!/usr/bin/env bash
# The main job from a clean checkout: `make run` in a fresh clone (its own .venv, data and Airflow home),
# with the install time reported apart from the run. Target: run (DAG to printed routing table) < 10 min.
set -euo pipefail
src=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=$(mktemp -d /tmp/mangaeval-main-job.XXXXXX)
git clone -q "$src" "$work/repo"
cd "$work/repo"
start=$(date +%s)
make install 2>&1 | grep -E "^install:" || true
installed=$(date +%s)
make run 2>&1 | grep -v "^WARNING: Location"
done_at=$(date +%s)
echo "main job: install $((installed - start))s, run $((done_at - installed))s (target < 600s), total $((done_at - start))s"
echo "(clone kept in $work/repo)"
