-- Canary rollouts (DuckDB and PostgreSQL; Redshift: ddl/redshift/003_canary.sql). One row per rollout x stage
-- x metric, and one decision per rollout x stage (stage = index 1..4; a HOLD's extensions replace the stage's
-- rows, its earlier looks are kept in canary_decisions.reasons). Times are naive UTC; detail/reasons hold JSON.
CREATE TABLE IF NOT EXISTS canary_stage_metrics (
    rollout_id VARCHAR NOT NULL, stage INTEGER NOT NULL, traffic_pct DOUBLE PRECISION NOT NULL,
    window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL, metric VARCHAR NOT NULL, status VARCHAR NOT NULL,
    baseline_value DOUBLE PRECISION, canary_value DOUBLE PRECISION, threshold DOUBLE PRECISION, detail VARCHAR
);
CREATE TABLE IF NOT EXISTS canary_decisions (
    rollout_id VARCHAR NOT NULL, stage INTEGER NOT NULL, traffic_pct DOUBLE PRECISION NOT NULL, decided_at TIMESTAMP NOT NULL,
    verdict VARCHAR NOT NULL, action VARCHAR NOT NULL, reasons VARCHAR NOT NULL, split_version INTEGER
);
