-- After request_events rows of one load were replaced: recompute the totals of every session the old or the
-- new rows touch, from all of that session's events. The per-request definitions are those of
-- ab_request_sums.sql: quality over scored ok requests, latency over ok requests, cost over all requests.
INSERT INTO touched_sessions (experiment_id, session_id)
SELECT DISTINCT experiment_id, session_id FROM request_events WHERE load_id = :load_id;
DELETE FROM request_session_totals
USING touched_sessions t
WHERE t.experiment_id = request_session_totals.experiment_id AND t.session_id = request_session_totals.session_id;
INSERT INTO request_session_totals (experiment_id, session_id, first_event, last_event, requests, treatment_requests, scored,
                                    quality, ok, latency_ms, cost_usd)
SELECT
    r.experiment_id, r.session_id, MIN(r.event_time), MAX(r.event_time),
    COUNT(*),
    COUNT(CASE WHEN r.arm = 'treatment' THEN 1 END),
    COUNT(CASE WHEN r.error_code IS NULL THEN r.quality_score END),
    SUM(CASE WHEN r.error_code IS NULL THEN r.quality_score END),
    COUNT(CASE WHEN r.error_code IS NULL THEN 1 END),
    SUM(CASE WHEN r.error_code IS NULL THEN r.latency_ms END),
    SUM(r.cost_usd)
FROM request_events r
JOIN (SELECT DISTINCT experiment_id, session_id FROM touched_sessions) t
  ON t.experiment_id = r.experiment_id AND t.session_id = r.session_id
GROUP BY r.experiment_id, r.session_id;
DROP TABLE touched_sessions;
