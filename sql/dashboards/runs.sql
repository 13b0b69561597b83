-- Every evaluation run, newest first (run selectors).
SELECT run_id, run_sort_key FROM mart_eval_run_index ORDER BY run_sort_key DESC, run_id DESC
