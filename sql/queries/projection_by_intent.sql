-- Per intent: the recommended routing's and the all-premium baseline's monthly cost.
SELECT x.intent, r.config_id, rec.monthly_usd AS recommended_monthly_usd, base.monthly_usd AS baseline_monthly_usd
FROM intent_mix x
JOIN routing_policy p ON p.run_id = x.run_id
LEFT JOIN mart_routing_recommendation r ON r.run_id = x.run_id AND r.intent = x.intent
LEFT JOIN mart_monthly_projection rec ON rec.run_id = x.run_id AND rec.intent = x.intent AND rec.config_id = r.config_id
LEFT JOIN mart_monthly_projection base ON base.run_id = x.run_id AND base.intent = x.intent AND base.config_id = p.baseline_config_id
WHERE x.run_id = :run_id
ORDER BY x.intent
