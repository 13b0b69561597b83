-- Mart (dashboards): per run x intent x configuration, the figures of int_config_intent_metrics with their 95%
-- confidence intervals, whether the configuration is on the Pareto frontier, recommended, or serving when the
-- run started, and the policy lines it is judged against (the Evaluation page and the static report read this).
-- The intervals respect clusters (mangaeval.clusters: cases sharing a query or a template are one piece of
-- evidence): the CR1 variance of a mean over n scored answers in G clusters is G/(G-1) * sum over clusters of
-- (cluster sum - mean * cluster size)^2 / n^2 (mangaeval.cluster_stats, which the tests hold this view to).
-- Quality CI: mean +- 1.96 * sqrt(variance), inside [0, 1] where scores lie; the variance is CR1 but never below the
-- naive VAR_SAMP / n: clusters may widen an interval, never narrow it (a CASE, not GREATEST, which treats NULL
-- differently per engine). Pass-rate CI: Wilson's score interval (inside [0, 1]) on the effective number of answers
-- p(1-p) / CR1 variance, at most n; at 0% or 100% (no spread to measure) the number of clusters. NULL below 2
-- clusters. In DOUBLE PRECISION throughout (Redshift's DECIMAL division keeps few digits).
CREATE OR REPLACE VIEW mart_eval_config_intent AS
WITH cluster_totals AS (
    SELECT run_id, intent, config_id, cluster_id, COUNT(*) AS n_g, SUM(quality_score) AS quality_g,
           SUM(CAST(passed_value AS DOUBLE PRECISION)) AS passed_g
    FROM stg_eval_results
    WHERE quality_score IS NOT NULL
    GROUP BY run_id, intent, config_id, cluster_id
),
naive AS (
    SELECT run_id, intent, config_id, VAR_SAMP(quality_score) AS quality_var_samp
    FROM stg_eval_results
    WHERE quality_score IS NOT NULL
    GROUP BY run_id, intent, config_id
),
means AS (
    SELECT run_id, intent, config_id, CAST(SUM(n_g) AS BIGINT) AS scored, COUNT(*) AS clusters,
           SUM(quality_g) / CAST(SUM(n_g) AS DOUBLE PRECISION) AS quality_mean,
           SUM(passed_g) / CAST(SUM(n_g) AS DOUBLE PRECISION) AS pass_mean
    FROM cluster_totals
    GROUP BY run_id, intent, config_id
),
spread AS (
    SELECT m.run_id, m.intent, m.config_id, m.scored, m.clusters, m.pass_mean, v.quality_var_samp,
           CASE WHEN m.clusters >= 2 THEN CAST(m.clusters AS DOUBLE PRECISION) / (m.clusters - 1)
                * SUM((c.quality_g - m.quality_mean * c.n_g) * (c.quality_g - m.quality_mean * c.n_g))
                / (CAST(m.scored AS DOUBLE PRECISION) * m.scored) END AS quality_var,
           CASE WHEN m.clusters >= 2 THEN CAST(m.clusters AS DOUBLE PRECISION) / (m.clusters - 1)
                * SUM((c.passed_g - m.pass_mean * c.n_g) * (c.passed_g - m.pass_mean * c.n_g))
                / (CAST(m.scored AS DOUBLE PRECISION) * m.scored) END AS pass_var
    FROM means m
    JOIN cluster_totals c ON c.run_id = m.run_id AND c.intent = m.intent AND c.config_id = m.config_id
    JOIN naive v ON v.run_id = m.run_id AND v.intent = m.intent AND v.config_id = m.config_id
    GROUP BY m.run_id, m.intent, m.config_id, m.scored, m.clusters, m.quality_mean, m.pass_mean, v.quality_var_samp
),
effective AS (
    SELECT s.*,
           CASE WHEN s.quality_var IS NULL THEN NULL
                WHEN s.quality_var >= s.quality_var_samp / s.scored THEN s.quality_var
                ELSE s.quality_var_samp / s.scored END AS quality_var_floored,
           CASE WHEN s.pass_var IS NULL THEN NULL
                WHEN s.pass_mean <= 0 OR s.pass_mean >= 1 THEN CAST(s.clusters AS DOUBLE PRECISION)
                WHEN s.pass_var <= 0 THEN CAST(s.scored AS DOUBLE PRECISION)
                ELSE LEAST(CAST(s.scored AS DOUBLE PRECISION), s.pass_mean * (1 - s.pass_mean) / s.pass_var) END AS pass_n
    FROM spread s
)
SELECT m.run_id, m.intent, m.config_id, m.model_id, m.calls, m.ok_calls, m.error_calls, m.error_rate,
       COALESCE(s.scored, 0) AS scored, COALESCE(s.clusters, 0) AS clusters,
       m.mean_quality,
       CASE WHEN m.mean_quality - 1.96 * SQRT(s.quality_var_floored) < 0 THEN 0.0
            ELSE m.mean_quality - 1.96 * SQRT(s.quality_var_floored) END AS quality_ci_low,
       CASE WHEN m.mean_quality + 1.96 * SQRT(s.quality_var_floored) > 1 THEN 1.0
            ELSE m.mean_quality + 1.96 * SQRT(s.quality_var_floored) END AS quality_ci_high,
       m.pass_rate,
       (s.pass_mean + 1.9208 / s.pass_n
        - 1.96 * SQRT(s.pass_mean * (1 - s.pass_mean) / s.pass_n + 0.9604 / (s.pass_n * s.pass_n))) / (1 + 3.8416 / s.pass_n) AS pass_ci_low,
       (s.pass_mean + 1.9208 / s.pass_n
        + 1.96 * SQRT(s.pass_mean * (1 - s.pass_mean) / s.pass_n + 0.9604 / (s.pass_n * s.pass_n))) / (1 + 3.8416 / s.pass_n) AS pass_ci_high,
       m.mean_cost_usd, m.cost_per_satisfactory_usd, m.latency_p50_ms, m.latency_p95_ms, m.latency_p99_ms, m.mean_tokens,
       CASE WHEN f.config_id IS NOT NULL THEN 1 ELSE 0 END AS on_frontier,
       CASE WHEN r.recommended_config_id = m.config_id THEN 1 ELSE 0 END AS is_recommended,
       CASE WHEN r.current_config_id = m.config_id THEN 1 ELSE 0 END AS is_current,
       r.config_id AS routed_config_id, r.flagged, r.reason AS recommendation_reason,
       p.min_pass_rate, p.sla_p95_ms, p.max_error_rate
FROM int_config_intent_metrics m
LEFT JOIN effective s ON s.run_id = m.run_id AND s.intent = m.intent AND s.config_id = m.config_id
LEFT JOIN mart_pareto_frontier f ON f.run_id = m.run_id AND f.intent = m.intent AND f.config_id = m.config_id
LEFT JOIN mart_routing_recommendation r ON r.run_id = m.run_id AND r.intent = m.intent
LEFT JOIN routing_policy p ON p.run_id = m.run_id
