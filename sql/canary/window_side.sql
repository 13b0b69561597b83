-- One side (arm) of a canary window, aggregated where the data lives: request and error counts, quality
-- mean and sample variance of scored answers, mean cost per answered request. Errors are never scored.
SELECT
    COUNT(*) AS requests,
    COALESCE(SUM(CASE WHEN error_code IS NOT NULL THEN 1 ELSE 0 END), 0) AS errors,
    COUNT(CASE WHEN error_code IS NULL THEN quality_score END) AS quality_n,
    AVG(CASE WHEN error_code IS NULL THEN quality_score END) AS quality_mean,
    VAR_SAMP(CASE WHEN error_code IS NULL THEN quality_score END) AS quality_var,
    COALESCE(SUM(CASE WHEN error_code IS NULL THEN 1 ELSE 0 END), 0) AS cost_n,
    AVG(CASE WHEN error_code IS NULL THEN cost_usd END) AS cost_mean
FROM request_events
WHERE experiment_id = :rollout_id AND arm = :arm AND event_time >= :window_start AND event_time < :window_end;
