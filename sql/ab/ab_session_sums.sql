-- Sufficient statistics of the per-session outcomes of one experiment, for sessions started up to :as_of,
-- per arm. A session reported twice (a re-sent event) counts once.
WITH per_session AS (
    SELECT
        arm, session_id,
        CAST(MAX(cart_add) AS DOUBLE PRECISION) AS cart_add, CAST(MAX(escalated) AS DOUBLE PRECISION) AS escalated,
        CAST(MAX(continued) AS DOUBLE PRECISION) AS continued, MAX(duration_s) AS duration_s
    FROM session_events
    WHERE experiment_id = :experiment_id AND started_at <= :as_of
    GROUP BY arm, session_id
)
SELECT
    arm,
    COUNT(*) AS sessions,
    SUM(cart_add) AS cart_add, SUM(cart_add * cart_add) AS cart_add_sq,
    SUM(escalated) AS escalated, SUM(escalated * escalated) AS escalated_sq,
    SUM(continued) AS continued, SUM(continued * continued) AS continued_sq,
    SUM(duration_s) AS duration_s, SUM(duration_s * duration_s) AS duration_s_sq
FROM per_session
GROUP BY arm
ORDER BY arm;
