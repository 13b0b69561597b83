SELECT r.intent, r.config_id, r.recommended_config_id, r.best_config_id, r.current_config_id, r.flagged, r.reason,
       m.model_id, m.mean_quality, m.pass_rate, m.error_rate, m.latency_p95_ms, m.mean_cost_usd
FROM mart_routing_recommendation r
LEFT JOIN int_config_intent_metrics m ON m.run_id = r.run_id AND m.intent = r.intent AND m.config_id = r.config_id
WHERE r.run_id = :run_id
ORDER BY r.intent
