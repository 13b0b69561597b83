-- Whether a run id is in the warehouse, and its intents (a bad run id gets a "no such run" page).
SELECT DISTINCT intent FROM eval_results WHERE run_id = :run_id ORDER BY intent
