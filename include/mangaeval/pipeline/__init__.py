"""The nightly evaluation pipeline's steps, as plain functions the DAG wires together (tested without Airflow)."""
