-- A full rebuild of one experiment's per-session totals (after events were written around the loader, or to
-- repair): every session of the experiment is touched.
CREATE TEMPORARY TABLE touched_sessions AS
SELECT DISTINCT experiment_id, session_id FROM request_events WHERE experiment_id = :experiment_id;
