-- P95 latency of one arm's ok requests up to :as_of, with a distribution-free interval: the empirical
-- quantiles at :q_low and :q_high (order statistics). All percentiles share one ORDER BY (Redshift).
SELECT
    COUNT(*) AS requests,
    PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
    PERCENTILE_DISC(:q_low) WITHIN GROUP (ORDER BY latency_ms) AS p95_low,
    PERCENTILE_DISC(:q_high) WITHIN GROUP (ORDER BY latency_ms) AS p95_high
FROM request_events
WHERE experiment_id = :experiment_id AND arm = :arm AND event_time <= :as_of AND error_code IS NULL;
