-- One migrator at a time (Redshift's LOCK takes no mode): held until the migration's transaction ends.
LOCK schema_migrations
