-- Redshift DDL for the prices a run was costed with: the same table as ddl/portable/008_model_prices.sql (a few rows
-- per run, copied to every node like the policy and the mix).
CREATE TABLE IF NOT EXISTS model_prices (
    run_id VARCHAR(128) NOT NULL, model_id VARCHAR(256) NOT NULL, input_usd_per_mtok DOUBLE PRECISION NOT NULL,
    output_usd_per_mtok DOUBLE PRECISION NOT NULL
) DISTSTYLE ALL SORTKEY(run_id);
