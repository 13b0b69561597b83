-- Every A/B experiment with its latest look.
SELECT experiment_id, MAX(analyzed_at) AS last_look, COUNT(*) AS looks FROM mart_ab_decisions GROUP BY experiment_id ORDER BY experiment_id
