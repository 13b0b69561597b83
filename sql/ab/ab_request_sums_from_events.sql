-- The reference for ab_request_sums.sql: the same result computed from the events alone, regrouping every
-- request up to :as_of (no request_session_totals). Used to check the maintained totals (tests, and
-- benchmarks/ab_bench.py reports its time beside the analysis'). Its outer part (labelled, and the sums over
-- sessions) repeats ab_request_sums.sql's on purpose: a reference must not share the query it checks, and
-- tests/test_ab_analysis.py compares the two, so a change made to one and not the other fails there.
-- Sufficient statistics of the per-request metrics of one experiment up to :as_of, per arm. The session is
-- the unit of randomization: requests are summed per session first, then sums, squares and cross products
-- over sessions per arm; only these numbers leave the warehouse (delta-method variance in Python).
-- Ratio metrics (numerator y / denominator x per session):
--   quality    = sum of quality_score / scored ok requests
--   latency_ms = sum of latency_ms / ok requests
--   cost_usd   = sum of cost_usd / requests
--   error_rate = failed requests / requests
-- A session seen in both arms (an assignment or logging bug in the bot) belongs to neither: it comes back as
-- the row arm = 'both' (counted and reported), and is excluded from both arms' figures.
-- Why one GROUP BY session_id and counts rather than GROUP BY arm, session_id: the per-session grouping is
-- where the time goes (3.3M sessions in 10M requests), and this way it also finds the sessions in both arms
-- in the same pass. Integer counts and DOUBLE PRECISION sums keep DECIMAL arithmetic out of the hot loop.
WITH per_session AS (
    SELECT
        session_id,
        COUNT(*) AS requests,
        COUNT(CASE WHEN arm = 'treatment' THEN 1 END) AS treatment_requests,
        COUNT(CASE WHEN error_code IS NULL THEN quality_score END) AS scored,
        SUM(CASE WHEN error_code IS NULL THEN quality_score END) AS quality,
        COUNT(CASE WHEN error_code IS NULL THEN 1 END) AS ok,
        SUM(CASE WHEN error_code IS NULL THEN latency_ms END) AS latency_ms,
        SUM(cost_usd) AS cost_usd
    FROM request_events
    WHERE experiment_id = :experiment_id AND event_time <= :as_of
    GROUP BY session_id
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
