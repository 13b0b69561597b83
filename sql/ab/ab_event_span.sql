-- First and last request event of one experiment (the default analysis time, and the start of an
-- experiment that is not registered).
SELECT MIN(event_time) AS first_event, MAX(event_time) AS last_event, COUNT(*) AS requests
FROM request_events
WHERE experiment_id = :experiment_id;
