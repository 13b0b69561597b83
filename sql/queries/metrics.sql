SELECT * FROM int_config_intent_metrics WHERE run_id = :run_id ORDER BY intent, config_id
