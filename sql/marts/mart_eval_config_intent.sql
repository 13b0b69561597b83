-- Mart (dashboards): per run x intent x configuration, the figures of int_config_intent_metrics with their 95%
-- confidence intervals, whether the configuration is on the Pareto frontier, recommended, or serving when the
-- run started, and the policy lines it is judged against (the Evaluation page and the static report read this).
-- Quality CI: normal interval of the mean over scored answers (mean +- 1.96 sd / sqrt(n)); pass-rate CI: Wilson
-- score interval (stays inside [0, 1] at 0% and 100%, where a normal interval would not). NULL below 2 answers.
CREATE OR REPLACE VIEW mart_eval_config_intent AS
WITH spread AS (
    SELECT run_id, intent, config_id, COUNT(quality_score) AS scored, STDDEV_SAMP(quality_score) AS quality_sd
    FROM stg_eval_results
    GROUP BY run_id, intent, config_id
)
SELECT m.run_id, m.intent, m.config_id, m.model_id, m.calls, m.ok_calls, m.error_calls, m.error_rate, s.scored,
       m.mean_quality,
       CASE WHEN s.scored >= 2 THEN m.mean_quality - 1.96 * s.quality_sd / SQRT(s.scored) END AS quality_ci_low,
       CASE WHEN s.scored >= 2 THEN m.mean_quality + 1.96 * s.quality_sd / SQRT(s.scored) END AS quality_ci_high,
       m.pass_rate,
       CASE WHEN s.scored >= 2 THEN (m.pass_rate + 1.9208 / s.scored
             - 1.96 * SQRT(m.pass_rate * (1 - m.pass_rate) / s.scored + 0.9604 / (s.scored * s.scored))) / (1 + 3.8416 / s.scored) END AS pass_ci_low,
       CASE WHEN s.scored >= 2 THEN (m.pass_rate + 1.9208 / s.scored
             + 1.96 * SQRT(m.pass_rate * (1 - m.pass_rate) / s.scored + 0.9604 / (s.scored * s.scored))) / (1 + 3.8416 / s.scored) END AS pass_ci_high,
       m.mean_cost_usd, m.cost_per_satisfactory_usd, m.latency_p50_ms, m.latency_p95_ms, m.latency_p99_ms, m.mean_tokens,
       CASE WHEN f.config_id IS NOT NULL THEN 1 ELSE 0 END AS on_frontier,
       CASE WHEN r.recommended_config_id = m.config_id THEN 1 ELSE 0 END AS is_recommended,
       CASE WHEN r.current_config_id = m.config_id THEN 1 ELSE 0 END AS is_current,
       r.config_id AS routed_config_id, r.flagged, r.reason AS recommendation_reason,
       p.min_pass_rate, p.sla_p95_ms, p.max_error_rate
FROM int_config_intent_metrics m
JOIN spread s ON s.run_id = m.run_id AND s.intent = m.intent AND s.config_id = m.config_id
LEFT JOIN mart_pareto_frontier f ON f.run_id = m.run_id AND f.intent = m.intent AND f.config_id = m.config_id
LEFT JOIN mart_routing_recommendation r ON r.run_id = m.run_id AND r.intent = m.intent
LEFT JOIN routing_policy p ON p.run_id = m.run_id
