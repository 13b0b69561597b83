-- The migrations applied to this warehouse, and the checksum of each as it was applied.
SELECT version, checksum FROM schema_migrations ORDER BY version
