-- Sufficient statistics of the per-request metrics of one experiment up to :as_of, per arm. The session is
-- the unit of randomization: requests are summed per session first, then sums, squares and cross products
-- over sessions per arm; only these numbers leave the warehouse (delta-method variance in Python).
-- Ratio metrics (numerator y / denominator x per session):
--   quality    = sum of quality_score / scored ok requests
--   latency_ms = sum of latency_ms / ok requests
--   cost_usd   = sum of cost_usd / requests
--   error_rate = failed requests / requests
-- The per-session sums come from request_session_totals (kept by the warehouse on every load) for sessions
-- whose last request is at or before :as_of, and from the events themselves for the few sessions that
-- straddle :as_of: the same figures as grouping every request up to :as_of, without regrouping 10M requests
-- each hour. A session seen in both arms (an assignment or logging bug in the bot) belongs to neither: it
-- comes back as the row arm = 'both' (counted and reported), and is excluded from both arms' figures.
WITH complete AS (
    SELECT session_id, requests, treatment_requests, scored, quality, ok, latency_ms, cost_usd
    FROM request_session_totals
    WHERE experiment_id = :experiment_id AND last_event <= :as_of
),
straddling AS (
    SELECT
        r.session_id,
        COUNT(*) AS requests,
        COUNT(CASE WHEN r.arm = 'treatment' THEN 1 END) AS treatment_requests,
        COUNT(CASE WHEN r.error_code IS NULL THEN r.quality_score END) AS scored,
        SUM(CASE WHEN r.error_code IS NULL THEN r.quality_score END) AS quality,
        COUNT(CASE WHEN r.error_code IS NULL THEN 1 END) AS ok,
        SUM(CASE WHEN r.error_code IS NULL THEN r.latency_ms END) AS latency_ms,
        SUM(r.cost_usd) AS cost_usd
    FROM request_events r
    JOIN request_session_totals t ON t.experiment_id = r.experiment_id AND t.session_id = r.session_id
    WHERE r.experiment_id = :experiment_id AND r.event_time <= :as_of
      AND t.experiment_id = :experiment_id AND t.first_event <= :as_of AND t.last_event > :as_of
    GROUP BY r.session_id
),
per_session AS (
    SELECT * FROM complete
    UNION ALL
    SELECT * FROM straddling
),
labelled AS (
    SELECT
        CASE WHEN treatment_requests = 0 THEN 'control' WHEN treatment_requests = requests THEN 'treatment' ELSE 'both' END AS arm,
        CAST(requests AS DOUBLE PRECISION) AS requests,
        CAST(scored AS DOUBLE PRECISION) AS scored,
        CAST(COALESCE(quality, 0) AS DOUBLE PRECISION) AS quality,
        CAST(ok AS DOUBLE PRECISION) AS ok,
        CAST(COALESCE(latency_ms, 0) AS DOUBLE PRECISION) AS latency_ms,
        CAST(requests - ok AS DOUBLE PRECISION) AS failed,
        CAST(cost_usd AS DOUBLE PRECISION) AS cost_usd
    FROM per_session
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
FROM labelled
GROUP BY arm
ORDER BY arm;
