-- The warehouse's migration ledger (mangaeval.warehouse.migrations): one row per applied DDL file of
-- sql/ddl/<engine>/ (version: the file's name without .sql) and one row `views` for the views, which are
-- re-created whenever their SQL changes (checksum: sha256 of the files as applied). Tasks read it to check the
-- schema is current; only the migration step (`mangaeval warehouse migrate`, the deployment's init job) writes it.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version VARCHAR(128) NOT NULL, checksum VARCHAR(64) NOT NULL, applied_at TIMESTAMP NOT NULL
);
