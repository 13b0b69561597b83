-- Live-traffic events (A/B tests and canaries), DuckDB and PostgreSQL. Redshift: ddl/redshift/002_events.sql.
-- Every row carries the load it came from (load_id = the source object's key): a file is loaded, and
-- reloaded, as a whole inside one transaction, so an hourly rerun leaves exactly the same rows.
CREATE TABLE IF NOT EXISTS request_events (
    load_id VARCHAR NOT NULL, event_time TIMESTAMP NOT NULL, experiment_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL,
    arm VARCHAR NOT NULL, config_id VARCHAR NOT NULL, intent VARCHAR NOT NULL, quality_score DOUBLE PRECISION,
    latency_ms DOUBLE PRECISION NOT NULL, input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL, error_code VARCHAR
);
-- Per-session totals of request_events (one row per experiment x session), kept by the warehouse itself: every
-- replace of request_events recomputes the totals of the sessions it touched, in the same transaction
-- (sql/ab/request_session_totals_*.sql). The hourly analysis then reads sessions, not requests.
CREATE TABLE IF NOT EXISTS request_session_totals (
    experiment_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, first_event TIMESTAMP NOT NULL, last_event TIMESTAMP NOT NULL,
    requests BIGINT NOT NULL, treatment_requests BIGINT NOT NULL, scored BIGINT NOT NULL, quality DOUBLE PRECISION,
    ok BIGINT NOT NULL, latency_ms DOUBLE PRECISION, cost_usd DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS session_events (
    load_id VARCHAR NOT NULL, experiment_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, arm VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL, cart_add INTEGER NOT NULL, escalated INTEGER NOT NULL, continued INTEGER NOT NULL,
    duration_s DOUBLE PRECISION NOT NULL
);
-- Malformed rows, kept with the reason: counted and inspectable, never loaded into the tables above.
CREATE TABLE IF NOT EXISTS event_quarantine (
    load_id VARCHAR NOT NULL, source VARCHAR NOT NULL, line INTEGER NOT NULL, kind VARCHAR NOT NULL, reason VARCHAR NOT NULL,
    raw VARCHAR
);
-- One row per experiment x analysis time x metric: what dashboards read (through v_ab_results).
CREATE TABLE IF NOT EXISTS ab_analysis_metrics (
    experiment_id VARCHAR NOT NULL, analyzed_at TIMESTAMP NOT NULL, metric VARCHAR NOT NULL, role VARCHAR NOT NULL,
    control_n BIGINT, treatment_n BIGINT, control_mean DOUBLE PRECISION, treatment_mean DOUBLE PRECISION,
    effect DOUBLE PRECISION, ci_low DOUBLE PRECISION, ci_high DOUBLE PRECISION, relative_effect DOUBLE PRECISION,
    relative_ci_low DOUBLE PRECISION, relative_ci_high DOUBLE PRECISION, p_value DOUBLE PRECISION,
    p_value_sequential DOUBLE PRECISION, cs_low DOUBLE PRECISION, cs_high DOUBLE PRECISION, status VARCHAR
);
CREATE TABLE IF NOT EXISTS ab_decisions (
    experiment_id VARCHAR NOT NULL, analyzed_at TIMESTAMP NOT NULL, decision VARCHAR NOT NULL, reasons VARCHAR NOT NULL,
    srm_p_value DOUBLE PRECISION, srm_status VARCHAR NOT NULL, control_sessions BIGINT, treatment_sessions BIGINT,
    proposal VARCHAR
);
-- How far each source of request events is complete: no event before complete_through is still expected (the
-- event loader advances it after an hour's files are in; the canary simulator sets its own). A canary window is
-- judged only once its end is at or before its source's watermark. One row per source.
CREATE TABLE IF NOT EXISTS event_watermarks (
    source VARCHAR NOT NULL, complete_through TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL
);
