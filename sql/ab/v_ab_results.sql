-- Dashboards: every A/B analysis with its decision, one row per experiment x analysis time x metric.
CREATE OR REPLACE VIEW v_ab_results AS
SELECT
    m.experiment_id, m.analyzed_at, d.decision, d.srm_status, d.srm_p_value, d.control_sessions, d.treatment_sessions,
    m.metric, m.role, m.control_n, m.treatment_n, m.control_mean, m.treatment_mean, m.effect, m.ci_low, m.ci_high,
    m.relative_effect, m.relative_ci_low, m.relative_ci_high, m.p_value, m.p_value_sequential, m.cs_low, m.cs_high, m.status
FROM ab_analysis_metrics m
JOIN ab_decisions d ON d.experiment_id = m.experiment_id AND d.analyzed_at = m.analyzed_at;
