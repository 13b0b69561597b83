-- Every stage decision of one rollout, in stage order (the DAG's report, dashboards).
SELECT rollout_id, stage, traffic_pct, decided_at, verdict, action, reasons, split_version
FROM canary_decisions
WHERE rollout_id = :rollout_id
ORDER BY stage;
