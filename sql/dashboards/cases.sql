-- One page of one run and intent's cases under the Answers filters. Every filter is a bound value; an unset one
-- is NULL (or 0) and lets every row through. :tag_token is ",<tag>," (tags are comma-wrapped).
SELECT run_id, intent, test_id, language, tags, query, reference_answer, source, configs, passed_configs, failed_configs,
       critical_configs, disagree, quality_spread, COUNT(*) OVER () AS matching
FROM mart_eval_cases
WHERE run_id = :run_id AND intent = :intent
  AND (CAST(:language AS VARCHAR) IS NULL OR language = CAST(:language AS VARCHAR))
  AND (CAST(:tag_token AS VARCHAR) IS NULL OR POSITION(CAST(:tag_token AS VARCHAR) IN tags) > 0)
  AND (:failed_only = 0 OR failed_configs > 0)
  AND (:disagree_only = 0 OR disagree = 1)
ORDER BY disagree DESC, quality_spread DESC, test_id
LIMIT :page_size OFFSET :page_offset
