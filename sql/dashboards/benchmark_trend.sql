-- One environment's charted figures over its results, oldest first: P95 latency (with its 95% interval), throughput
-- and cost per query per configuration. :config_id NULL lets every configuration through.
SELECT result_id, created_at, config_id, figure, value, ci_low, ci_high, change_vs_previous
FROM mart_benchmark_trend
WHERE environment = :environment
  AND figure IN ('latency_p95_ms', 'throughput_rps', 'cost_per_query_usd')
  AND (CAST(:config_id AS VARCHAR) IS NULL OR config_id = CAST(:config_id AS VARCHAR))
ORDER BY created_at, result_id, config_id, figure
