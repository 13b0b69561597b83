-- The latest earlier look of one experiment, per metric: the running sequential p-value and confidence
-- sequence continue from it (always-valid inference is stated over all looks).
SELECT m.metric, m.p_value_sequential, m.cs_low, m.cs_high
FROM ab_analysis_metrics m
JOIN (
    SELECT MAX(analyzed_at) AS analyzed_at
    FROM ab_analysis_metrics
    WHERE experiment_id = :experiment_id AND analyzed_at < :as_of
) last_look ON m.analyzed_at = last_look.analyzed_at
WHERE m.experiment_id = :experiment_id;
