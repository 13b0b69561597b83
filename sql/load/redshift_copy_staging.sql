-- Redshift bulk load of one run: COPY the run's Parquet shards, listed in a manifest whose entries are all
-- marked mandatory (a missing shard fails the COPY instead of loading a partial run), into a staging table.
COPY eval_results_staging
FROM :manifest_uri
IAM_ROLE :iam_role
FORMAT AS PARQUET
MANIFEST
