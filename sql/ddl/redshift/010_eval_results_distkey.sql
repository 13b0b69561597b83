-- migrate: no-transaction
-- eval_results was distributed by intent: 8 values, so a run's rows sat on at most 8 slices (the busiest intent's
-- slice doing most of the work, the rest of a larger cluster idle). It is now distributed by test_id: a run has
-- 1,600 cases (v1), so its rows spread evenly over any cluster's slices, every configuration's answer to a case
-- lands on the same slice, and the Answers page's join to eval_cases on (run_id, test_id) is slice-local (eval_cases
-- gets the same key, 011). Not EVEN: that spreads as well but makes the eval_cases join redistribute. The sort key
-- stays (run_id, intent, config_id): the decisions and dashboards read one run, then group by intent and config.
-- One statement per file, outside a transaction block (mangaeval.warehouse.migrations).
ALTER TABLE eval_results ALTER DISTKEY test_id;
