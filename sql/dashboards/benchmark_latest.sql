-- The latest result of each configuration in one environment, one row per configuration: percentiles, throughput,
-- cost per query and error rate, with the change vs that configuration's previous result (mart_benchmark_trend).
-- Ranked by result, not by figure: a figure missing from the latest result stays empty rather than showing an older one.
WITH ranked AS (
    SELECT t.*, DENSE_RANK() OVER (PARTITION BY t.config_id ORDER BY t.created_at DESC, t.result_id DESC) AS recency
    FROM mart_benchmark_trend t
    WHERE t.environment = :environment
      AND (CAST(:config_id AS VARCHAR) IS NULL OR t.config_id = CAST(:config_id AS VARCHAR))
)
SELECT config_id, MAX(model_id) AS model_id, MAX(result_id) AS result_id, MAX(created_at) AS created_at,
       MAX(CASE WHEN figure = 'latency_p50_ms' THEN value END) AS p50_ms,
       MAX(CASE WHEN figure = 'latency_p95_ms' THEN value END) AS p95_ms,
       MAX(CASE WHEN figure = 'latency_p95_ms' THEN ci_low END) AS p95_ci_low,
       MAX(CASE WHEN figure = 'latency_p95_ms' THEN ci_high END) AS p95_ci_high,
       MAX(CASE WHEN figure = 'latency_p95_ms' THEN previous_value END) AS p95_previous_ms,
       MAX(CASE WHEN figure = 'latency_p95_ms' THEN change_vs_previous END) AS p95_change,
       MAX(CASE WHEN figure = 'latency_p99_ms' THEN value END) AS p99_ms,
       MAX(CASE WHEN figure = 'throughput_rps' THEN value END) AS throughput_rps,
       MAX(CASE WHEN figure = 'throughput_rps' THEN change_vs_previous END) AS throughput_change,
       MAX(CASE WHEN figure = 'cost_per_query_usd' THEN value END) AS cost_per_query_usd,
       MAX(CASE WHEN figure = 'cost_per_query_usd' THEN change_vs_previous END) AS cost_change,
       MAX(CASE WHEN figure = 'error_rate' THEN value END) AS error_rate,
       MAX(CASE WHEN figure = 'error_rate' THEN previous_value END) AS error_rate_previous
FROM ranked
WHERE recency = 1
GROUP BY config_id
ORDER BY config_id
