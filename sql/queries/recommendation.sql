-- The routing recommendation of a run, with the routed configuration's figures and the evidence behind them: its
-- scored cases and the clusters they fall in (mangaeval.clusters; NULL for a configuration not measured).
SELECT r.intent, r.config_id, r.recommended_config_id, r.best_config_id, r.current_config_id, r.flagged, r.reason,
       m.model_id, m.mean_quality, m.pass_rate, m.error_rate, m.latency_p95_ms, m.mean_cost_usd,
       m.ok_calls AS cases, m.clusters
FROM mart_routing_recommendation r
LEFT JOIN int_config_intent_metrics m ON m.run_id = r.run_id AND m.intent = r.intent AND m.config_id = r.config_id
WHERE r.run_id = :run_id
ORDER BY r.intent
