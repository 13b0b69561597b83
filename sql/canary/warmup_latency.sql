-- The warm-up's recorded latencies (never judged): count and P95 of its answered requests.
SELECT COUNT(*) AS requests, PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_ms
FROM request_events
WHERE experiment_id = :warmup_id AND error_code IS NULL;
