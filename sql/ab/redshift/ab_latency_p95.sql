-- Redshift variant of ab/ab_latency_p95.sql (no array percentiles): the same columns from three
-- PERCENTILE_DISC calls, which share one ORDER BY as Redshift requires. :fractions is unused here.
SELECT
    arm,
    COUNT(*) AS requests,
    PERCENTILE_DISC(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
    PERCENTILE_DISC(:q_low) WITHIN GROUP (ORDER BY latency_ms) AS p95_low,
    PERCENTILE_DISC(:q_high) WITHIN GROUP (ORDER BY latency_ms) AS p95_high
FROM request_events
WHERE experiment_id = :experiment_id AND event_time <= :as_of AND error_code IS NULL
GROUP BY arm
ORDER BY arm;
