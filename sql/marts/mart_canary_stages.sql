-- Mart (dashboards): one row per canary rollout x stage: its window (from the stage's judged metrics), traffic
-- share, verdict, action and reasons (JSON). A stage decided before any metric was written has no window.
CREATE OR REPLACE VIEW mart_canary_stages AS
SELECT d.rollout_id, d.stage, d.traffic_pct, w.window_start, w.window_end, d.decided_at, d.verdict, d.action, d.reasons,
       d.split_version
FROM canary_decisions d
LEFT JOIN (SELECT rollout_id, stage, MIN(window_start) AS window_start, MAX(window_end) AS window_end
           FROM canary_stage_metrics GROUP BY rollout_id, stage) w
       ON w.rollout_id = d.rollout_id AND w.stage = d.stage
