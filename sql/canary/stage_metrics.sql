-- One stage's judged metrics (canary_stage_metrics): what a completed rollout writes into the routing table.
SELECT metric, status, baseline_value, canary_value
FROM canary_stage_metrics
WHERE rollout_id = :rollout_id AND stage = :stage
ORDER BY metric
