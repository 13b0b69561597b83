-- Every evaluation run, newest first (run selector).
SELECT run_id, run_sort_key, dataset_version, configs, intents, calls, error_calls, total_cost_usd
FROM mart_eval_runs
ORDER BY run_sort_key DESC, run_id DESC
