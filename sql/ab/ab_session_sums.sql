-- Sufficient statistics of the per-session outcomes of one experiment, for sessions started up to :as_of,
-- per arm. session_events holds one row per experiment x session: the loader quarantines a re-sent session
-- event (ab_resent_sessions.sql), so the rows are summed directly; a GROUP BY session here would cost as much
-- as the rest of the analysis.
SELECT
    arm,
    COUNT(*) AS sessions,
    SUM(CAST(cart_add AS DOUBLE PRECISION)) AS cart_add, SUM(CAST(cart_add * cart_add AS DOUBLE PRECISION)) AS cart_add_sq,
    SUM(CAST(escalated AS DOUBLE PRECISION)) AS escalated, SUM(CAST(escalated * escalated AS DOUBLE PRECISION)) AS escalated_sq,
    SUM(CAST(continued AS DOUBLE PRECISION)) AS continued, SUM(CAST(continued * continued AS DOUBLE PRECISION)) AS continued_sq,
    SUM(duration_s) AS duration_s, SUM(duration_s * duration_s) AS duration_s_sq
FROM session_events
WHERE experiment_id = :experiment_id AND started_at <= :as_of
GROUP BY arm
ORDER BY arm;
