-- Mart (dashboards): one row per run x golden case, with how the configurations fared on it: how many answered,
-- passed, failed, hit a critical failure, and whether they disagree (some passed, some failed). The Answers page
-- filters and pages on this grain. Cases of runs loaded before eval_cases existed still appear (case facts NULL).
CREATE OR REPLACE VIEW mart_eval_cases AS
SELECT r.run_id, r.intent, r.test_id,
       COALESCE(MIN(c.language), MIN(r.language)) AS language,
       MIN(c.tags) AS tags, MIN(c.query) AS query, MIN(c.reference_answer) AS reference_answer, MIN(c.source) AS source,
       COUNT(*) AS configs,
       SUM(CASE WHEN r.passed THEN 1 ELSE 0 END) AS passed_configs,
       SUM(CASE WHEN r.passed THEN 0 ELSE 1 END) AS failed_configs,
       SUM(CASE WHEN r.critical_failure IS NOT NULL AND r.critical_failure <> '' THEN 1 ELSE 0 END) AS critical_configs,
       CASE WHEN SUM(CASE WHEN r.passed THEN 1 ELSE 0 END) > 0 AND SUM(CASE WHEN r.passed THEN 0 ELSE 1 END) > 0 THEN 1 ELSE 0 END AS disagree,
       MAX(r.quality_score) - MIN(r.quality_score) AS quality_spread
FROM eval_results r
LEFT JOIN eval_cases c ON c.run_id = r.run_id AND c.test_id = r.test_id
GROUP BY r.run_id, r.intent, r.test_id
