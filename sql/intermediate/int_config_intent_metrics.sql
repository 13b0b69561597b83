-- Intermediate: per run x intent x configuration aggregates. Error rows count in calls and error rate only
-- (their quality, cost and latency are NULL, which AVG and PERCENTILE_CONT skip). Figures are rounded to
-- 9 decimals (DECIMAL) so every engine compares them identically; the percentiles share one ORDER BY.
-- clusters: the distinct clusters of the scored answers (mangaeval.clusters), the evidence behind ok_calls; last,
-- so PostgreSQL's CREATE OR REPLACE VIEW accepts it over a view created without it.
CREATE OR REPLACE VIEW int_config_intent_metrics AS
SELECT a.run_id, a.intent, a.config_id, a.model_id, a.calls, a.ok_calls, a.error_calls, a.error_rate, a.mean_quality, a.pass_rate,
       a.mean_cost_usd, a.total_cost_usd, a.mean_tokens, a.latency_p50_ms, a.latency_p95_ms, a.latency_p99_ms,
       CAST(a.mean_quality / NULLIF(a.mean_tokens, 0) AS DECIMAL(18, 9)) AS token_efficiency,
       CAST(a.mean_cost_usd / NULLIF(a.pass_rate, 0) AS DECIMAL(18, 9)) AS cost_per_satisfactory_usd,
       CAST(a.mean_quality / NULLIF(a.latency_p95_ms, 0) AS DECIMAL(18, 12)) AS quality_per_p95_ms,
       a.clusters
FROM (
    SELECT run_id, intent, config_id, MIN(model_id) AS model_id,
           COUNT(*) AS calls,
           SUM(CASE WHEN status = 'ok' THEN 1 ELSE 0 END) AS ok_calls,
           SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) AS error_calls,
           CAST(AVG(error_value) AS DECIMAL(18, 9)) AS error_rate,
           CAST(AVG(quality_score) AS DECIMAL(18, 9)) AS mean_quality,
           CAST(AVG(passed_value) AS DECIMAL(18, 9)) AS pass_rate,
           CAST(AVG(cost_usd) AS DECIMAL(18, 12)) AS mean_cost_usd,
           CAST(SUM(cost_usd) AS DECIMAL(18, 9)) AS total_cost_usd,
           CAST(AVG(total_tokens) AS DECIMAL(18, 6)) AS mean_tokens,
           CAST(PERCENTILE_CONT(0.50) WITHIN GROUP (ORDER BY latency_ms) AS DECIMAL(18, 6)) AS latency_p50_ms,
           CAST(PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY latency_ms) AS DECIMAL(18, 6)) AS latency_p95_ms,
           CAST(PERCENTILE_CONT(0.99) WITHIN GROUP (ORDER BY latency_ms) AS DECIMAL(18, 6)) AS latency_p99_ms,
           COUNT(DISTINCT CASE WHEN quality_score IS NOT NULL THEN cluster_id END) AS clusters
    FROM stg_eval_results
    GROUP BY run_id, intent, config_id
) a
