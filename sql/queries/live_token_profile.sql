-- Where the live figures of the calibrated projection come from: per intent, the answered live requests of the window
-- [:window_start, :window_end) (staging/stg_live_requests.sql), their mean input and output tokens, how many
-- configurations served them, and the first and last of them.
SELECT intent, COUNT(*) AS events, AVG(input_tokens) AS mean_input_tokens, AVG(output_tokens) AS mean_output_tokens,
       COUNT(DISTINCT config_id) AS configurations, MIN(event_time) AS first_event, MAX(event_time) AS last_event
FROM stg_live_requests
WHERE event_time >= :window_start AND event_time < :window_end
GROUP BY intent
ORDER BY intent
