-- Latencies of one side's answered requests in a canary window (bounded by the window: tens of thousands of
-- values at most), for the P95 bootstrap and the Mann-Whitney test.
SELECT latency_ms
FROM request_events
WHERE experiment_id = :rollout_id AND arm = :arm AND event_time >= :window_start AND event_time < :window_end
  AND error_code IS NULL;
