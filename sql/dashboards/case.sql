-- One golden case as the run stored it (the Answers page's link to the case in the dataset).
SELECT run_id, test_id, intent, language, dataset_version, tags, query, reference_answer, source, case_json
FROM eval_cases WHERE run_id = :run_id AND test_id = :test_id
