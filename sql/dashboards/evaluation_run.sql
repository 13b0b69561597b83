-- One run, every intent (the static report).
SELECT * FROM mart_eval_config_intent WHERE run_id = :run_id ORDER BY intent, mean_cost_usd, config_id
