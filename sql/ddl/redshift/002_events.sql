-- Redshift DDL for live-traffic events: the same tables as ddl/portable/002_events.sql with distribution and
-- sort keys. Events are distributed by session (the analysis groups by session first) and sorted by
-- experiment and time (every analysis reads one experiment up to a time).
CREATE TABLE IF NOT EXISTS request_events (
    load_id VARCHAR(512) NOT NULL, event_time TIMESTAMP NOT NULL, experiment_id VARCHAR(128) NOT NULL,
    session_id VARCHAR(128) NOT NULL, arm VARCHAR(16) NOT NULL, config_id VARCHAR(128) NOT NULL, intent VARCHAR(64) NOT NULL,
    quality_score DOUBLE PRECISION, latency_ms DOUBLE PRECISION NOT NULL, input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL, error_code VARCHAR(128)
) DISTKEY(session_id) SORTKEY(experiment_id, event_time);
-- Per-session totals of request_events, kept by the warehouse on every replace of request_events (see
-- ddl/portable/002_events.sql); distributed like the events so a refresh joins locally.
CREATE TABLE IF NOT EXISTS request_session_totals (
    experiment_id VARCHAR(128) NOT NULL, session_id VARCHAR(128) NOT NULL, first_event TIMESTAMP NOT NULL,
    last_event TIMESTAMP NOT NULL, requests BIGINT NOT NULL, treatment_requests BIGINT NOT NULL, scored BIGINT NOT NULL,
    quality DOUBLE PRECISION, ok BIGINT NOT NULL, latency_ms DOUBLE PRECISION, cost_usd DOUBLE PRECISION NOT NULL
) DISTKEY(session_id) SORTKEY(experiment_id, last_event);
CREATE TABLE IF NOT EXISTS session_events (
    load_id VARCHAR(512) NOT NULL, experiment_id VARCHAR(128) NOT NULL, session_id VARCHAR(128) NOT NULL,
    arm VARCHAR(16) NOT NULL, started_at TIMESTAMP NOT NULL, cart_add INTEGER NOT NULL, escalated INTEGER NOT NULL,
    continued INTEGER NOT NULL, duration_s DOUBLE PRECISION NOT NULL
) DISTKEY(session_id) SORTKEY(experiment_id, started_at);
CREATE TABLE IF NOT EXISTS event_quarantine (
    load_id VARCHAR(512) NOT NULL, source VARCHAR(1024) NOT NULL, line INTEGER NOT NULL, kind VARCHAR(16) NOT NULL,
    reason VARCHAR(1024) NOT NULL, raw VARCHAR(4096)
) DISTSTYLE EVEN SORTKEY(load_id);
CREATE TABLE IF NOT EXISTS ab_analysis_metrics (
    experiment_id VARCHAR(128) NOT NULL, analyzed_at TIMESTAMP NOT NULL, metric VARCHAR(32) NOT NULL, role VARCHAR(16) NOT NULL,
    control_n BIGINT, treatment_n BIGINT, control_mean DOUBLE PRECISION, treatment_mean DOUBLE PRECISION,
    effect DOUBLE PRECISION, ci_low DOUBLE PRECISION, ci_high DOUBLE PRECISION, relative_effect DOUBLE PRECISION,
    relative_ci_low DOUBLE PRECISION, relative_ci_high DOUBLE PRECISION, p_value DOUBLE PRECISION,
    p_value_sequential DOUBLE PRECISION, cs_low DOUBLE PRECISION, cs_high DOUBLE PRECISION, status VARCHAR(32)
) DISTSTYLE ALL SORTKEY(experiment_id, analyzed_at);
CREATE TABLE IF NOT EXISTS ab_decisions (
    experiment_id VARCHAR(128) NOT NULL, analyzed_at TIMESTAMP NOT NULL, decision VARCHAR(32) NOT NULL,
    reasons VARCHAR(8192) NOT NULL, srm_p_value DOUBLE PRECISION, srm_status VARCHAR(16) NOT NULL, control_sessions BIGINT,
    treatment_sessions BIGINT, proposal VARCHAR(8192)
) DISTSTYLE ALL SORTKEY(experiment_id, analyzed_at);
-- How far each source of request events is complete (see ddl/portable/002_events.sql): a handful of rows.
CREATE TABLE IF NOT EXISTS event_watermarks (
    source VARCHAR(256) NOT NULL, complete_through TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL
) DISTSTYLE ALL;
