-- Mart (dashboards): one row per loaded evaluation run, its id and time only: what run selectors list. Read from
-- routing_policy (every load writes the run's one policy row) so listing 90 nights does not aggregate 1.3M result
-- rows on every page view; mart_eval_runs has the runs' figures.
CREATE OR REPLACE VIEW mart_eval_run_index AS
SELECT run_id,
       CASE WHEN POSITION('__' IN run_id) > 0 THEN SUBSTRING(run_id FROM POSITION('__' IN run_id) + 2) ELSE run_id END AS run_sort_key
FROM routing_policy
