-- Warehouses created before clusters (mangaeval.clusters) gain them here: each result row's cluster, and the number of
-- clusters behind each paired comparison. Rows loaded before have NULL: the views read that as each row its own
-- cluster (its test_id), the naive statistics those runs always had.
ALTER TABLE eval_results ADD COLUMN IF NOT EXISTS cluster_id VARCHAR;
ALTER TABLE quality_pairs ADD COLUMN IF NOT EXISTS n_clusters INTEGER;
