-- One rollout's judged metrics per stage.
SELECT * FROM mart_canary_metrics WHERE rollout_id = :rollout_id ORDER BY stage, metric
