-- Session events of one load whose session another load already brought (the bot re-sent the event): the
-- first load keeps the session, this load's copy is quarantined. This keeps session_events at one row per
-- experiment x session, so the analysis sums sessions without grouping them (see ab_session_sums.sql).
SELECT this_load.experiment_id, this_load.session_id, MIN(other.load_id) AS loaded_from
FROM session_events this_load
JOIN session_events other
  ON other.experiment_id = this_load.experiment_id AND other.session_id = this_load.session_id AND other.load_id <> this_load.load_id
WHERE this_load.load_id = :load_id
GROUP BY this_load.experiment_id, this_load.session_id
ORDER BY this_load.experiment_id, this_load.session_id;
