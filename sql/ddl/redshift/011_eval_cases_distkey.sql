-- migrate: no-transaction
-- eval_cases follows eval_results (010): distributed by test_id, so mart_eval_cases' join of a run's results to
-- its cases on (run_id, test_id) needs no redistribution; sort key unchanged (run_id, intent, test_id).
ALTER TABLE eval_cases ALTER DISTKEY test_id;
