-- Mart: the configuration to route each intent to. Among frontier configurations meeting the policy
-- (pass rate, P95 within the SLA, error rate), those whose quality is non-inferior to the best-quality one
-- (paired lower 95% bound of the difference above -margin, from quality_pairs) compete on cost; the
-- cheapest wins (then higher quality, then id). An intent where nothing qualifies keeps its current
-- routing (or, with none, the policy's default configuration) and is flagged.
CREATE OR REPLACE VIEW mart_routing_recommendation AS
WITH best AS (
    SELECT run_id, intent, config_id AS best_config_id
    FROM (SELECT e.run_id, e.intent, e.config_id,
                 ROW_NUMBER() OVER (PARTITION BY e.run_id, e.intent ORDER BY e.mean_quality DESC, e.mean_cost_usd ASC, e.config_id ASC) AS rn
          FROM mart_routing_eligible e) ranked
    WHERE rn = 1
),
non_inferior AS (
    SELECT e.*, b.best_config_id
    FROM mart_routing_eligible e
    JOIN best b ON b.run_id = e.run_id AND b.intent = e.intent
    JOIN routing_policy p ON p.run_id = e.run_id
    LEFT JOIN quality_pairs q ON q.run_id = e.run_id AND q.intent = e.intent AND q.config_id = e.config_id
                              AND q.reference_config_id = b.best_config_id
    WHERE e.config_id = b.best_config_id OR q.lower_95 > -p.non_inferiority_margin
),
pick AS (
    SELECT *
    FROM (SELECT n.*, ROW_NUMBER() OVER (PARTITION BY n.run_id, n.intent ORDER BY n.mean_cost_usd ASC, n.mean_quality DESC, n.config_id ASC) AS rn
          FROM non_inferior n) ranked
    WHERE rn = 1
),
run_intents AS (
    SELECT DISTINCT run_id, intent FROM eval_results
)
SELECT r.run_id, r.intent,
       COALESCE(k.config_id, c.config_id, p.default_config_id) AS config_id,
       k.config_id AS recommended_config_id,
       k.best_config_id,
       c.config_id AS current_config_id,
       CASE WHEN k.config_id IS NULL THEN 1 ELSE 0 END AS flagged,
       CASE WHEN k.config_id IS NULL AND c.config_id IS NULL THEN 'no configuration meets the policy and nothing is routed yet: default configuration'
            WHEN k.config_id IS NULL THEN 'no configuration meets the policy: current routing kept'
            WHEN k.config_id = k.best_config_id THEN 'best quality among qualifying frontier configurations, and the cheapest non-inferior'
            ELSE 'cheapest frontier configuration non-inferior in quality to ' || k.best_config_id END AS reason
FROM run_intents r
LEFT JOIN pick k ON k.run_id = r.run_id AND k.intent = r.intent
JOIN routing_policy p ON p.run_id = r.run_id
LEFT JOIN current_routing c ON c.run_id = r.run_id AND c.intent = r.intent
