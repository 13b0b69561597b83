-- One intent over every night: quality, pass rate, cost, P95 per configuration, oldest first.
SELECT run_id, run_sort_key, config_id, mean_quality, pass_rate, mean_cost_usd, latency_p95_ms
FROM mart_eval_trend
WHERE intent = :intent
ORDER BY run_sort_key, run_id, config_id
