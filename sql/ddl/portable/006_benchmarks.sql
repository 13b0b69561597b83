-- Benchmark suite results (mangaeval bench; Redshift: ddl/redshift/005_benchmarks.sql): one row per result x
-- configuration x benchmark x figure, replaced by result_id. The raw samples stay in the result JSON.
CREATE TABLE IF NOT EXISTS benchmark_results (
    result_id VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, environment VARCHAR NOT NULL, config_id VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL, benchmark VARCHAR NOT NULL, figure VARCHAR NOT NULL, value DOUBLE PRECISION,
    ci_low DOUBLE PRECISION, ci_high DOUBLE PRECISION, n INTEGER, unit VARCHAR NOT NULL
);
