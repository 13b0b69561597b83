-- Staging: result rows as the decisions read them (one row per configuration x case). cluster_id: the case's cluster
-- (mangaeval.clusters); rows loaded before clusters existed are each their own cluster (their test_id: naive).
CREATE OR REPLACE VIEW stg_eval_results AS
SELECT run_id, config_id, model_id, intent, test_id, language, status,
       CAST(input_tokens AS DOUBLE PRECISION) + CAST(output_tokens AS DOUBLE PRECISION) AS total_tokens,
       cost_usd, CAST(latency_ms AS DOUBLE PRECISION) AS latency_ms, quality_score,
       CASE WHEN passed THEN 1.0 WHEN passed IS NOT NULL THEN 0.0 END AS passed_value,
       CASE WHEN status = 'error' THEN 1.0 ELSE 0.0 END AS error_value,
       COALESCE(cluster_id, test_id) AS cluster_id
FROM eval_results
