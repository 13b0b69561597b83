-- Mart: the Pareto frontier per run x intent over quality (higher), mean cost (lower) and P95 (lower):
-- exactly the configurations no other configuration dominates (>= on all three, strictly better on one).
-- Configurations without a single ok answer have no figures and are left out.
CREATE OR REPLACE VIEW mart_pareto_frontier AS
SELECT m.*
FROM int_config_intent_metrics m
WHERE m.ok_calls > 0
  AND NOT EXISTS (
      SELECT 1 FROM int_config_intent_metrics o
      WHERE o.run_id = m.run_id AND o.intent = m.intent AND o.config_id <> m.config_id AND o.ok_calls > 0
        AND o.mean_quality >= m.mean_quality AND o.mean_cost_usd <= m.mean_cost_usd AND o.latency_p95_ms <= m.latency_p95_ms
        AND (o.mean_quality > m.mean_quality OR o.mean_cost_usd < m.mean_cost_usd OR o.latency_p95_ms < m.latency_p95_ms)
  )
