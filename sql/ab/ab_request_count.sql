-- Request events of one experiment up to :as_of: checked against the requests the per-session totals account
-- for, so totals out of step with the events (rows written around the loader) stop the analysis.
SELECT COUNT(*) AS requests
FROM request_events
WHERE experiment_id = :experiment_id AND event_time <= :as_of;
