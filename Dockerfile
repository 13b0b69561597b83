# The image of docker-compose.yaml: Airflow 3 with this project's pinned runtime dependencies, its package, DAGs and
# SQL baked in (no bind mounts needed in production). Not the test tools: the requirements.in section
# "# tests and local doubles" (pytest, moto) is left out, everything else installs at the versions of requirements.txt.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.in requirements.txt pyproject.toml /opt/project/
RUN sed '/^# tests and local doubles/,$d' /opt/project/requirements.in > /tmp/runtime.in \
 && pip install --no-cache-dir -c /opt/project/requirements.txt -r /tmp/runtime.in \
 && rm /tmp/runtime.in
COPY --chown=airflow:root include /opt/project/include
COPY --chown=airflow:root sql /opt/project/sql
COPY --chown=airflow:root dags /opt/airflow/dags
# Editable: the package finds include/config, prompts, golden datasets and sql/ beside it in /opt/project.
RUN pip install --no-cache-dir --no-deps -e /opt/project \
 && python -c "import mangaeval.paths as p; assert (p.PROJECT_ROOT / 'sql').is_dir() and (p.CONFIG_DIR / 'quotas.yaml').is_file()"
