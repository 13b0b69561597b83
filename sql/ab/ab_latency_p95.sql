-- P95 latency of each arm's ok requests up to :as_of (nearest rank, PERCENTILE_DISC), with a
-- distribution-free interval: the order statistics at the fractions :q_low and :q_high (those of the smaller
-- arm, so the larger arm's interval is conservative). :fractions = [0.95, :q_low, :q_high]: one
-- PERCENTILE_DISC over an array sorts each arm once (three separate percentiles sort it three times).
-- Redshift has no array percentiles: ab/redshift/ab_latency_p95.sql.
SELECT arm, requests, bounds[1] AS p95, bounds[2] AS p95_low, bounds[3] AS p95_high
FROM (
    SELECT
        arm,
        COUNT(*) AS requests,
        PERCENTILE_DISC(:fractions) WITHIN GROUP (ORDER BY latency_ms) AS bounds
    FROM request_events
    WHERE experiment_id = :experiment_id AND event_time <= :as_of AND error_code IS NULL
    GROUP BY arm
) per_arm
ORDER BY arm;
