-- Warehouse tables for DuckDB (embedded default) and PostgreSQL. Redshift: ddl/redshift/001_tables.sql.
-- Every table is keyed by run_id: a run is loaded (and reloaded) as a whole, inside one transaction.
CREATE TABLE IF NOT EXISTS eval_results (
    run_id VARCHAR NOT NULL, config_id VARCHAR NOT NULL, model_id VARCHAR NOT NULL, intent VARCHAR NOT NULL,
    test_id VARCHAR NOT NULL, language VARCHAR, dataset_version VARCHAR, prompt_version VARCHAR, response_text VARCHAR,
    input_tokens BIGINT, output_tokens BIGINT, cost_usd DOUBLE PRECISION, latency_ms BIGINT, wall_ms DOUBLE PRECISION,
    status VARCHAR NOT NULL, error_code VARCHAR, attempts INTEGER, stop_reason VARCHAR, error_message VARCHAR,
    cache_hit BOOLEAN, reused_from VARCHAR, quality_score DOUBLE PRECISION, passed BOOLEAN, score_relevance DOUBLE PRECISION,
    score_factual_accuracy DOUBLE PRECISION, score_completeness DOUBLE PRECISION, score_language_match DOUBLE PRECISION,
    score_format_length DOUBLE PRECISION, score_safety_policy DOUBLE PRECISION, score_judge DOUBLE PRECISION,
    judge_error VARCHAR, critical_failure VARCHAR, cluster_id VARCHAR, answer_hash VARCHAR
);
-- Paired quality differences (config minus reference config, same cases), computed with scipy at load; the bound is
-- cluster-robust over n_clusters clusters of the n_pairs cases (mangaeval.cluster_stats).
CREATE TABLE IF NOT EXISTS quality_pairs (
    run_id VARCHAR NOT NULL, intent VARCHAR NOT NULL, config_id VARCHAR NOT NULL, reference_config_id VARCHAR NOT NULL,
    n_pairs INTEGER NOT NULL, mean_diff DOUBLE PRECISION, lower_95 DOUBLE PRECISION, n_clusters INTEGER
);
-- The routing policy and traffic mix a run was decided with (data, from include/config/).
CREATE TABLE IF NOT EXISTS routing_policy (
    run_id VARCHAR NOT NULL, min_pass_rate DOUBLE PRECISION NOT NULL, sla_p95_ms DOUBLE PRECISION NOT NULL,
    max_error_rate DOUBLE PRECISION NOT NULL, non_inferiority_margin DOUBLE PRECISION NOT NULL,
    messages_per_day DOUBLE PRECISION NOT NULL, days_per_month DOUBLE PRECISION NOT NULL, baseline_config_id VARCHAR NOT NULL,
    default_config_id VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS intent_mix (
    run_id VARCHAR NOT NULL, intent VARCHAR NOT NULL, traffic_share DOUBLE PRECISION NOT NULL, cache_hit_rate DOUBLE PRECISION NOT NULL
);
-- What served each intent when the run started (kept, and flagged, where nothing qualifies).
CREATE TABLE IF NOT EXISTS current_routing (
    run_id VARCHAR NOT NULL, intent VARCHAR NOT NULL, config_id VARCHAR NOT NULL
);
