-- Redshift DDL: the same tables as ddl/portable, with distribution and sort keys. As first created, results and
-- quality_pairs were distributed by intent (8 values: skewed); migrations 010-012 redistribute them (see there).
-- COPY maps Parquet columns by position: eval_results' columns are in the result layout's order (mangaeval.results).
-- Redshift has no ADD COLUMN IF NOT EXISTS: a warehouse created before cluster_id (and answer_hash) rebuilds
-- eval_results in this order once (a deep copy), and adds quality_pairs.n_clusters INTEGER by hand.
CREATE TABLE IF NOT EXISTS eval_results (
    run_id VARCHAR(128) NOT NULL, config_id VARCHAR(128) NOT NULL, model_id VARCHAR(256) NOT NULL, intent VARCHAR(64) NOT NULL,
    test_id VARCHAR(128) NOT NULL, language VARCHAR(8), dataset_version VARCHAR(32), prompt_version VARCHAR(32),
    response_text VARCHAR(65535), input_tokens BIGINT, output_tokens BIGINT, cost_usd DOUBLE PRECISION, latency_ms BIGINT,
    wall_ms DOUBLE PRECISION, status VARCHAR(8) NOT NULL, error_code VARCHAR(128), attempts INTEGER, stop_reason VARCHAR(64),
    error_message VARCHAR(4096), cache_hit BOOLEAN, reused_from VARCHAR(256), quality_score DOUBLE PRECISION, passed BOOLEAN,
    score_relevance DOUBLE PRECISION, score_factual_accuracy DOUBLE PRECISION, score_completeness DOUBLE PRECISION,
    score_language_match DOUBLE PRECISION, score_format_length DOUBLE PRECISION, score_safety_policy DOUBLE PRECISION,
    score_judge DOUBLE PRECISION, judge_error VARCHAR(1024), critical_failure VARCHAR(512), cluster_id VARCHAR(256),
    answer_hash VARCHAR(64)
) DISTKEY(intent) SORTKEY(run_id, intent, config_id);
CREATE TABLE IF NOT EXISTS quality_pairs (
    run_id VARCHAR(128) NOT NULL, intent VARCHAR(64) NOT NULL, config_id VARCHAR(128) NOT NULL,
    reference_config_id VARCHAR(128) NOT NULL, n_pairs INTEGER NOT NULL, mean_diff DOUBLE PRECISION, lower_95 DOUBLE PRECISION,
    n_clusters INTEGER
) DISTKEY(intent) SORTKEY(run_id, intent);
CREATE TABLE IF NOT EXISTS routing_policy (
    run_id VARCHAR(128) NOT NULL, min_pass_rate DOUBLE PRECISION NOT NULL, sla_p95_ms DOUBLE PRECISION NOT NULL,
    max_error_rate DOUBLE PRECISION NOT NULL, non_inferiority_margin DOUBLE PRECISION NOT NULL,
    messages_per_day DOUBLE PRECISION NOT NULL, days_per_month DOUBLE PRECISION NOT NULL, baseline_config_id VARCHAR(128) NOT NULL,
    default_config_id VARCHAR(128) NOT NULL
) DISTSTYLE ALL SORTKEY(run_id);
CREATE TABLE IF NOT EXISTS intent_mix (
    run_id VARCHAR(128) NOT NULL, intent VARCHAR(64) NOT NULL, traffic_share DOUBLE PRECISION NOT NULL,
    cache_hit_rate DOUBLE PRECISION NOT NULL
) DISTSTYLE ALL SORTKEY(run_id);
CREATE TABLE IF NOT EXISTS current_routing (
    run_id VARCHAR(128) NOT NULL, intent VARCHAR(64) NOT NULL, config_id VARCHAR(128) NOT NULL
) DISTSTYLE ALL SORTKEY(run_id);
