-- The golden cases a run evaluated, as the dashboards show them (one row per run x case): the Answers page filters
-- by language and tag and links each row to its case, so these facts live in the warehouse beside the results, not
-- only in the repository's dataset files. tags is comma-wrapped (",multi_turn,edge:typo,") so one tag is matched
-- with a bound parameter and POSITION, on every engine. source is "<version>/<intent>.jsonl:<line>".
CREATE TABLE IF NOT EXISTS eval_cases (
    run_id VARCHAR NOT NULL, test_id VARCHAR NOT NULL, intent VARCHAR NOT NULL, language VARCHAR, dataset_version VARCHAR,
    tags VARCHAR, query VARCHAR, reference_answer VARCHAR, source VARCHAR, case_json VARCHAR
);
