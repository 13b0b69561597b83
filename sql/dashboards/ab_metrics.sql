-- One experiment's metrics, look by look (effects, fixed-horizon CIs and always-valid confidence sequences).
SELECT * FROM v_ab_results WHERE experiment_id = :experiment_id ORDER BY metric, analyzed_at
