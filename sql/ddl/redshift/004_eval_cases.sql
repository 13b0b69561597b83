-- Redshift DDL for the golden cases a run evaluated: the same table as ddl/portable/005_eval_cases.sql,
-- distributed and sorted like eval_results so the Answers page joins them on one slice range.
CREATE TABLE IF NOT EXISTS eval_cases (
    run_id VARCHAR(128) NOT NULL, test_id VARCHAR(128) NOT NULL, intent VARCHAR(64) NOT NULL, language VARCHAR(8),
    dataset_version VARCHAR(32), tags VARCHAR(1024), query VARCHAR(65535), reference_answer VARCHAR(65535),
    source VARCHAR(512), case_json VARCHAR(65535)
) DISTKEY(intent) SORTKEY(run_id, intent, test_id);
