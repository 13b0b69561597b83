-- Mart (dashboards): one row per run x golden case x configuration: the answer, its scores by dimension, the
-- critical failure and the judge's verdict (the Answers page shows a case's rows side by side).
CREATE OR REPLACE VIEW mart_eval_answers AS
SELECT run_id, intent, test_id, config_id, model_id, language, status, error_code, response_text, quality_score,
       CASE WHEN passed THEN 1 WHEN passed IS NOT NULL THEN 0 END AS passed,
       score_relevance, score_factual_accuracy, score_completeness, score_language_match, score_format_length,
       score_safety_policy, score_judge, judge_error, critical_failure, latency_ms, cost_usd
FROM eval_results
