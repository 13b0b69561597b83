-- Mart: monthly cost per run x configuration x intent = messages/day x traffic share x days x (1 - cache
-- hit rate) x mean cost per call. Summed per configuration, for the recommended routing and for the
-- all-premium baseline by queries/projection_*.sql.
CREATE OR REPLACE VIEW mart_monthly_projection AS
SELECT m.run_id, m.config_id, m.intent,
       CAST(p.messages_per_day * x.traffic_share * p.days_per_month * (1 - x.cache_hit_rate) AS DECIMAL(18, 3)) AS billed_messages,
       CAST(p.messages_per_day * x.traffic_share * p.days_per_month * (1 - x.cache_hit_rate) * m.mean_cost_usd AS DECIMAL(18, 6)) AS monthly_usd
FROM int_config_intent_metrics m
JOIN routing_policy p ON p.run_id = m.run_id
JOIN intent_mix x ON x.run_id = m.run_id AND x.intent = m.intent
WHERE m.ok_calls > 0
