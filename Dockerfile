# Image for docker-compose.yaml: Airflow 3 with this project's pinned dependencies and package.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt pyproject.toml /opt/project/
COPY --chown=airflow:root include /opt/project/include
RUN pip install --no-cache-dir -r /opt/project/requirements.txt \
 && pip install --no-cache-dir --no-deps -e /opt/project
