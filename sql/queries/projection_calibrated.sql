-- The monthly projection calibrated to live traffic: per configuration x intent of run :run_id, the golden-set cost per
-- request and month (mart_monthly_projection's figure) beside the same configuration's cost at live traffic's sizes:
--   calibrated cost per request = cost_in x live_in / golden_in + cost_out x live_out / golden_out
-- cost_in, cost_out: the configuration's golden-set mean input and output tokens x its model's price per token
--   (model_prices: the catalog the run was costed with; cost_in + cost_out is its measured mean cost);
-- live_in, live_out: the mean tokens of the intent's answered live requests in [:window_start, :window_end);
-- golden_in, golden_out: the golden-set tokens of the configurations that served those requests, weighted by their
--   requests, so that the ratio compares production's prompts and answers with the golden set's, not one model's
--   verbosity with another's (reference 'serving_configurations'); where the run measured none of them, the mean
--   over the run's configurations ('run_configurations').
-- calibration is 'live', or why the golden-set figure is kept: 'no_events', 'too_few_events' (under :min_events),
-- 'no_price' (no price recorded for the model), 'no_golden_tokens'. Monthly = billed messages x cost per request.
WITH live_by_config AS (
    SELECT intent, config_id, COUNT(*) AS events, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens
    FROM stg_live_requests
    WHERE event_time >= :window_start AND event_time < :window_end
    GROUP BY intent, config_id
),
live AS (
    SELECT intent, SUM(events) AS events, SUM(input_tokens) / SUM(events) AS live_input_tokens,
           SUM(output_tokens) / SUM(events) AS live_output_tokens
    FROM live_by_config
    GROUP BY intent
),
golden AS (
    SELECT intent, config_id, MIN(model_id) AS model_id,
           AVG(CAST(input_tokens AS DOUBLE PRECISION)) AS golden_input_tokens,
           AVG(CAST(output_tokens AS DOUBLE PRECISION)) AS golden_output_tokens
    FROM eval_results
    WHERE run_id = :run_id AND status = 'ok'
    GROUP BY intent, config_id
),
serving_reference AS (
    SELECT l.intent, SUM(l.events * g.golden_input_tokens) / SUM(l.events) AS input_tokens,
           SUM(l.events * g.golden_output_tokens) / SUM(l.events) AS output_tokens
    FROM live_by_config l
    JOIN golden g ON g.intent = l.intent AND g.config_id = l.config_id
    GROUP BY l.intent
),
run_reference AS (
    SELECT intent, AVG(golden_input_tokens) AS input_tokens, AVG(golden_output_tokens) AS output_tokens
    FROM golden
    GROUP BY intent
),
joined AS (
    SELECT mp.config_id, mp.intent, g.model_id, mp.billed_messages, mp.monthly_usd AS golden_monthly_usd,
           CAST(m.mean_cost_usd AS DOUBLE PRECISION) AS golden_cost_usd, g.golden_input_tokens, g.golden_output_tokens,
           g.golden_input_tokens * pr.input_usd_per_mtok / 1000000.0 AS golden_input_cost_usd,
           g.golden_output_tokens * pr.output_usd_per_mtok / 1000000.0 AS golden_output_cost_usd,
           COALESCE(l.events, 0) AS live_events, l.live_input_tokens, l.live_output_tokens,
           COALESCE(s.input_tokens, r.input_tokens) AS reference_input_tokens,
           COALESCE(s.output_tokens, r.output_tokens) AS reference_output_tokens,
           CASE WHEN s.intent IS NULL THEN 'run_configurations' ELSE 'serving_configurations' END AS reference,
           CASE WHEN l.events IS NULL THEN 'no_events'
                WHEN l.events < :min_events THEN 'too_few_events'
                WHEN pr.model_id IS NULL THEN 'no_price'
                WHEN COALESCE(s.input_tokens, r.input_tokens) <= 0 OR COALESCE(s.output_tokens, r.output_tokens) <= 0 THEN 'no_golden_tokens'
                ELSE 'live' END AS calibration,
           CASE WHEN rec.config_id = mp.config_id THEN 1 ELSE 0 END AS is_recommended,
           CASE WHEN p.baseline_config_id = mp.config_id THEN 1 ELSE 0 END AS is_baseline
    FROM mart_monthly_projection mp
    JOIN golden g ON g.intent = mp.intent AND g.config_id = mp.config_id
    JOIN int_config_intent_metrics m ON m.run_id = mp.run_id AND m.intent = mp.intent AND m.config_id = mp.config_id
    JOIN routing_policy p ON p.run_id = mp.run_id
    JOIN run_reference r ON r.intent = mp.intent
    LEFT JOIN model_prices pr ON pr.run_id = mp.run_id AND pr.model_id = g.model_id
    LEFT JOIN live l ON l.intent = mp.intent
    LEFT JOIN serving_reference s ON s.intent = mp.intent
    LEFT JOIN mart_routing_recommendation rec ON rec.run_id = mp.run_id AND rec.intent = mp.intent
    WHERE mp.run_id = :run_id
),
calibrated AS (
    SELECT j.*,
           CASE WHEN j.calibration = 'live'
                THEN j.golden_input_cost_usd * j.live_input_tokens / j.reference_input_tokens
                     + j.golden_output_cost_usd * j.live_output_tokens / j.reference_output_tokens
                ELSE j.golden_cost_usd END AS calibrated_cost_usd
    FROM joined j
)
SELECT config_id, intent, model_id, calibration, reference, is_recommended, is_baseline, live_events,
       live_input_tokens, live_output_tokens, reference_input_tokens, reference_output_tokens,
       live_input_tokens / NULLIF(reference_input_tokens, 0) AS input_ratio,
       live_output_tokens / NULLIF(reference_output_tokens, 0) AS output_ratio,
       golden_input_tokens, golden_output_tokens, golden_cost_usd, golden_input_cost_usd, golden_output_cost_usd,
       calibrated_cost_usd, billed_messages, golden_monthly_usd,
       CAST(CAST(billed_messages AS DOUBLE PRECISION) * calibrated_cost_usd AS DECIMAL(18, 6)) AS calibrated_monthly_usd
FROM calibrated
ORDER BY intent, config_id
