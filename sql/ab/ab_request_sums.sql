-- Sufficient statistics of the per-request metrics of one experiment up to :as_of, per arm. The session is
-- the unit of randomization: requests are summed per session first, then sums, squares and cross products
-- over sessions per arm; only these numbers leave the warehouse (delta-method variance in Python).
-- Ratio metrics (numerator y / denominator x per session):
--   quality    = sum of quality_score / scored ok requests
--   latency_ms = sum of latency_ms / ok requests
--   cost_usd   = sum of cost_usd / requests
--   error_rate = failed requests / requests
WITH requests AS (
    SELECT
        arm, session_id,
        CASE WHEN error_code IS NULL AND quality_score IS NOT NULL THEN 1.0 ELSE 0.0 END AS scored,
        CASE WHEN error_code IS NULL AND quality_score IS NOT NULL THEN quality_score ELSE 0.0 END AS quality,
        CASE WHEN error_code IS NULL THEN 1.0 ELSE 0.0 END AS ok,
        CASE WHEN error_code IS NULL THEN latency_ms ELSE 0.0 END AS ok_latency_ms,
        CASE WHEN error_code IS NULL THEN 0.0 ELSE 1.0 END AS failed,
        cost_usd
    FROM request_events
    WHERE experiment_id = :experiment_id AND event_time <= :as_of
),
per_session AS (
    SELECT
        arm, session_id,
        CAST(COUNT(*) AS DOUBLE PRECISION) AS requests, SUM(scored) AS scored, SUM(quality) AS quality, SUM(ok) AS ok,
        SUM(ok_latency_ms) AS latency_ms, SUM(failed) AS failed, SUM(cost_usd) AS cost_usd
    FROM requests
    GROUP BY arm, session_id
)
SELECT
    arm,
    COUNT(*) AS sessions,
    SUM(requests) AS requests, SUM(requests * requests) AS requests_sq,
    SUM(scored) AS scored, SUM(scored * scored) AS scored_sq,
    SUM(quality) AS quality, SUM(quality * quality) AS quality_sq, SUM(quality * scored) AS quality_x_scored,
    SUM(ok) AS ok, SUM(ok * ok) AS ok_sq,
    SUM(latency_ms) AS latency_ms, SUM(latency_ms * latency_ms) AS latency_ms_sq, SUM(latency_ms * ok) AS latency_ms_x_ok,
    SUM(cost_usd) AS cost_usd, SUM(cost_usd * cost_usd) AS cost_usd_sq, SUM(cost_usd * requests) AS cost_usd_x_requests,
    SUM(failed) AS failed, SUM(failed * failed) AS failed_sq, SUM(failed * requests) AS failed_x_requests
FROM per_session
GROUP BY arm
ORDER BY arm;
