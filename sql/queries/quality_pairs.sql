-- Paired quality differences of a run (config minus reference, same cases), for the ledger's precedence rules:
-- n_pairs cases in n_clusters clusters (NULL for runs loaded before clusters: as many as the cases).
SELECT intent, config_id, reference_config_id, n_pairs, mean_diff, lower_95, n_clusters
FROM quality_pairs
WHERE run_id = :run_id
ORDER BY intent, config_id, reference_config_id
