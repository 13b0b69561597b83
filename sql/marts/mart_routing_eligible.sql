-- Mart: the frontier configurations that meet the run's policy (pass rate, P95 within the SLA, error rate): what
-- mart_routing_recommendation chooses from. A view of its own, not a CTE there: a CTE read twice is materialized
-- whole by DuckDB (every run), where a view is inlined and a reader's run/intent filter reaches the tables.
CREATE OR REPLACE VIEW mart_routing_eligible AS
SELECT f.*
FROM mart_pareto_frontier f
JOIN routing_policy p ON p.run_id = f.run_id
WHERE f.pass_rate >= p.min_pass_rate AND f.latency_p95_ms <= p.sla_p95_ms AND f.error_rate <= p.max_error_rate
