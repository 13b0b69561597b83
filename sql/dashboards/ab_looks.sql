-- One experiment's decisions, look by look.
SELECT * FROM mart_ab_decisions WHERE experiment_id = :experiment_id ORDER BY analyzed_at
