-- Mart (dashboards): one row per canary rollout x stage x metric: the canary's and the baseline's value, the
-- threshold it was held to, and the test's status (detail: JSON with the test's figures).
CREATE OR REPLACE VIEW mart_canary_metrics AS
SELECT rollout_id, stage, traffic_pct, window_start, window_end, metric, status, baseline_value, canary_value, threshold, detail
FROM canary_stage_metrics
