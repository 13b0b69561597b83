-- Redshift DDL for canary rollouts: the same tables as ddl/portable/003_canary.sql. Small tables read by
-- rollout: copied to every node (DISTSTYLE ALL) and sorted by rollout and stage.
CREATE TABLE IF NOT EXISTS canary_stage_metrics (
    rollout_id VARCHAR(128) NOT NULL, stage INTEGER NOT NULL, traffic_pct DOUBLE PRECISION NOT NULL,
    window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL, metric VARCHAR(32) NOT NULL, status VARCHAR(16) NOT NULL,
    baseline_value DOUBLE PRECISION, canary_value DOUBLE PRECISION, threshold DOUBLE PRECISION, detail VARCHAR(65535)
) DISTSTYLE ALL SORTKEY(rollout_id, stage);
CREATE TABLE IF NOT EXISTS canary_decisions (
    rollout_id VARCHAR(128) NOT NULL, stage INTEGER NOT NULL, traffic_pct DOUBLE PRECISION NOT NULL,
    decided_at TIMESTAMP NOT NULL, verdict VARCHAR(16) NOT NULL, action VARCHAR(16) NOT NULL, reasons VARCHAR(65535) NOT NULL,
    split_version INTEGER
) DISTSTYLE ALL SORTKEY(rollout_id, stage);
