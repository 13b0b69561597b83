-- One run and intent: every configuration's figures with CIs, frontier / recommended / current flags, policy lines.
SELECT * FROM mart_eval_config_intent WHERE run_id = :run_id AND intent = :intent ORDER BY mean_cost_usd, config_id
