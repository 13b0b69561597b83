-- The warehouse's migration ledger on Redshift (see sql/migrations/schema_migrations.sql): a handful of rows,
-- copied to every node.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version VARCHAR(128) NOT NULL, checksum VARCHAR(64) NOT NULL, applied_at TIMESTAMP NOT NULL
) DISTSTYLE ALL;
