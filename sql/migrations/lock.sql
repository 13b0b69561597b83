-- One migrator at a time (PostgreSQL; DuckDB has one writer per file, Redshift's serializable isolation fails a
-- concurrent second migrator): held until the migration's transaction ends; readers are not blocked.
LOCK TABLE schema_migrations IN EXCLUSIVE MODE
