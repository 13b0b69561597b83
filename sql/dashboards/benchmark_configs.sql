-- The configurations benchmarked in one environment (the configuration filter's allow-list).
SELECT DISTINCT config_id FROM benchmark_results WHERE environment = :environment ORDER BY config_id
