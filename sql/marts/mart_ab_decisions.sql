-- Mart (dashboards): one row per A/B experiment x look (analysis time): the decision, its reasons (JSON list),
-- the sample-ratio check and sessions per arm. The look's metrics are in v_ab_results.
CREATE OR REPLACE VIEW mart_ab_decisions AS
SELECT experiment_id, analyzed_at, decision, reasons, srm_status, srm_p_value, control_sessions, treatment_sessions,
       CASE WHEN proposal IS NULL THEN 0 ELSE 1 END AS has_proposal
FROM ab_decisions
