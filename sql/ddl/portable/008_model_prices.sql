-- The price catalog a run was costed with (include/config/models.yaml via mangaeval.models), one row per model the run
-- called: the live-calibrated projection (queries/projection_calibrated.sql) splits a configuration's cost per request
-- into its input and output parts with these prices. Loaded with the run (keyed by run_id). Redshift: ddl/redshift/006.
CREATE TABLE IF NOT EXISTS model_prices (
    run_id VARCHAR NOT NULL, model_id VARCHAR NOT NULL, input_usd_per_mtok DOUBLE PRECISION NOT NULL,
    output_usd_per_mtok DOUBLE PRECISION NOT NULL
);
