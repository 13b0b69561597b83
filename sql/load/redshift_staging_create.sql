-- Redshift bulk load of one run, step 1: an empty session-temporary staging table with exactly the Parquet
-- shards' columns, in their order ({result_columns}: mangaeval.results.RESULT_SCHEMA), since COPY from Parquet
-- maps columns by position and needs as many in the table as in the files; typed as eval_results types them, and
-- distributed like it so the insert from staging stays on each slice.
DROP TABLE IF EXISTS eval_results_staging;
CREATE TEMP TABLE eval_results_staging DISTKEY(test_id) AS SELECT {result_columns} FROM eval_results WHERE 1 = 0;
