-- Redshift DDL for benchmark results: the same table as ddl/portable/006_benchmarks.sql. Small, read by
-- configuration over time: copied to every node and sorted by time.
CREATE TABLE IF NOT EXISTS benchmark_results (
    result_id VARCHAR(128) NOT NULL, created_at TIMESTAMP NOT NULL, environment VARCHAR(64) NOT NULL, config_id VARCHAR(128) NOT NULL,
    model_id VARCHAR(256) NOT NULL, benchmark VARCHAR(32) NOT NULL, figure VARCHAR(64) NOT NULL, value DOUBLE PRECISION,
    ci_low DOUBLE PRECISION, ci_high DOUBLE PRECISION, n INTEGER, unit VARCHAR(16) NOT NULL
) DISTSTYLE ALL SORTKEY(created_at, config_id);
