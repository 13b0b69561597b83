-- One re-sent session event of a load, moved to the quarantine (see ab_resent_sessions.sql).
DELETE FROM session_events WHERE load_id = :load_id AND experiment_id = :experiment_id AND session_id = :session_id;
