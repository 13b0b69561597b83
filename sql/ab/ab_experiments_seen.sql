-- Experiments that have request events (for a helpful message when an id has none).
SELECT experiment_id, COUNT(*) AS requests
FROM request_events
GROUP BY experiment_id
ORDER BY experiment_id;
