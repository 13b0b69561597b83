-- P95 latency of each arm's ok requests up to :as_of, with a distribution-free interval: the empirical
-- quantiles at :q_low and :q_high (order statistics; the fractions are those of the smaller arm, so the
-- larger arm's interval is conservative). All percentiles share one ORDER BY (Redshift).
SELECT
    arm,
    COUNT(*) AS requests,
    PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
    PERCENTILE_DISC(:q_low) WITHIN GROUP (ORDER BY latency_ms) AS p95_low,
    PERCENTILE_DISC(:q_high) WITHIN GROUP (ORDER BY latency_ms) AS p95_high
FROM request_events
WHERE experiment_id = :experiment_id AND event_time <= :as_of AND error_code IS NULL
GROUP BY arm
ORDER BY arm;
