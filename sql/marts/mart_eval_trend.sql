-- Mart (dashboards): per run x intent x configuration, the four figures the trend over nights plots, with the
-- run's time to order them (mart_eval_runs.run_sort_key). No frontier or recommendation: a trend over 90 nights
-- must not recompute 90 decisions.
CREATE OR REPLACE VIEW mart_eval_trend AS
SELECT m.run_id,
       CASE WHEN POSITION('__' IN m.run_id) > 0 THEN SUBSTRING(m.run_id FROM POSITION('__' IN m.run_id) + 2) ELSE m.run_id END AS run_sort_key,
       m.intent, m.config_id, m.calls, m.mean_quality, m.pass_rate, m.mean_cost_usd, m.latency_p95_ms, m.error_rate
FROM int_config_intent_metrics m
