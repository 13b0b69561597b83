-- Before request_events rows of one load are replaced: remember the sessions they touch (a reload may drop
-- some), so their totals are recomputed afterwards. A temporary table of this transaction.
CREATE TEMPORARY TABLE touched_sessions AS
SELECT DISTINCT experiment_id, session_id FROM request_events WHERE load_id = :load_id;
