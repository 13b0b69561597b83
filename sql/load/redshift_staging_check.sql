-- Redshift bulk load of one run, step 3: what COPY put in staging: every row must be the run's, and as many as
-- the shards held when the run was validated (checked in mangaeval.warehouse.redshift_copy).
SELECT COUNT(*) AS staged_rows, SUM(CASE WHEN run_id = :run_id THEN 0 ELSE 1 END) AS other_runs_rows FROM eval_results_staging
