-- Redshift bulk load of one run, step 2: COPY the run's Parquet shards, listed in a manifest whose entries are
-- all marked mandatory (a missing shard fails the COPY instead of loading a partial run; each entry carries
-- meta.content_length, which Redshift requires for Parquet), into the staging table. As the Amazon provider's
-- S3ToRedshiftOperator builds its COPY (destination, FROM 's3://...', authorization, format options), with
-- IAM_ROLE for the authorization. COPY binds no parameters: both literals are checked against strict patterns
-- and quoted by mangaeval.warehouse.redshift_copy. No REGION: Parquet COPY refuses it (same-region bucket).
COPY eval_results_staging
FROM :manifest_uri
IAM_ROLE :iam_role
FORMAT AS PARQUET
MANIFEST
