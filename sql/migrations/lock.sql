-- One migrator at a time (PostgreSQL): held until the migration's transaction ends; readers are not blocked.
LOCK TABLE schema_migrations IN EXCLUSIVE MODE
