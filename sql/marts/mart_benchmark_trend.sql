-- Mart (dashboards): benchmark figures over time per environment x configuration x figure, each with the previous
-- result's value and the change against it (what a trend chart and a "what got slower" table read).
CREATE OR REPLACE VIEW mart_benchmark_trend AS
SELECT b.result_id, b.created_at, b.environment, b.config_id, b.model_id, b.benchmark, b.figure, b.value, b.ci_low, b.ci_high,
       b.n, b.unit,
       LAG(b.value) OVER (PARTITION BY b.environment, b.config_id, b.figure ORDER BY b.created_at, b.result_id) AS previous_value,
       b.value / NULLIF(LAG(b.value) OVER (PARTITION BY b.environment, b.config_id, b.figure ORDER BY b.created_at, b.result_id), 0) - 1
           AS change_vs_previous
FROM benchmark_results b
