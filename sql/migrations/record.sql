-- Record a migration as applied (replacing an earlier row of the same version: the views, re-created).
DELETE FROM schema_migrations WHERE version = :version;
INSERT INTO schema_migrations (version, checksum, applied_at) VALUES (:version, :checksum, :applied_at);
