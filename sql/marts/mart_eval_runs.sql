-- Mart (dashboards): one row per evaluation run, for run selectors and trends. run_sort_key is the run's time as
-- Airflow writes it into the run id (scheduled__2026-11-22T02:00:00+00:00 -> 2026-11-22T02:00:00+00:00), so
-- nights order by time whatever the run type; an id without "__" sorts by itself.
CREATE OR REPLACE VIEW mart_eval_runs AS
SELECT run_id,
       CASE WHEN POSITION('__' IN run_id) > 0 THEN SUBSTRING(run_id FROM POSITION('__' IN run_id) + 2) ELSE run_id END AS run_sort_key,
       MIN(dataset_version) AS dataset_version,
       COUNT(DISTINCT config_id) AS configs,
       COUNT(DISTINCT intent) AS intents,
       COUNT(*) AS calls,
       SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) AS error_calls,
       CAST(SUM(cost_usd) AS DECIMAL(18, 9)) AS total_cost_usd
FROM eval_results
GROUP BY run_id
