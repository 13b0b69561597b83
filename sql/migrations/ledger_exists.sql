-- Whether this schema has a migration ledger at all (a warehouse no migration has run on has none).
SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'
