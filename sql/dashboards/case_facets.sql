-- The languages and tag lists of one run and intent (the Answers filters' allow-lists).
SELECT DISTINCT language, tags FROM mart_eval_cases WHERE run_id = :run_id AND intent = :intent
