"""Alerts: a failed gate, a flagged route, a routing change, an A/B proposal and a canary rollback, sent through
Airflow notifiers (SNS, a Slack webhook) named by connection settings. `events` and `messages` build them
(pure), `channels` reads the settings, `notify` sends them from the DAGs' task callbacks."""
