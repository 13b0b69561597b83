-- Staging: live request events as a size of traffic. Answered requests only (a failed call's tokens say nothing about
-- a request's size) and never a canary's synthetic warm-up (its experiment id is '<rollout>.warmup',
-- mangaeval.canary.records.warmup_experiment_id): the live-calibrated projection reads token sizes from here.
CREATE OR REPLACE VIEW stg_live_requests AS
SELECT event_time, experiment_id, config_id, intent,
       CAST(input_tokens AS DOUBLE PRECISION) AS input_tokens, CAST(output_tokens AS DOUBLE PRECISION) AS output_tokens
FROM request_events
WHERE error_code IS NULL AND experiment_id NOT LIKE '%.warmup'
