-- Sessions seen in both arms of one experiment: an assignment bug in the bot. Counted and reported.
SELECT COUNT(*) AS sessions_in_both_arms
FROM (
    SELECT session_id
    FROM request_events
    WHERE experiment_id = :experiment_id AND event_time <= :as_of
    GROUP BY session_id
    HAVING COUNT(DISTINCT arm) > 1
) conflicted;
