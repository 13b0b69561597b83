SELECT intent, config_id FROM mart_pareto_frontier WHERE run_id = :run_id ORDER BY intent, config_id
