-- Every environment with benchmark results, latest first (the environment filter's allow-list; the first is the
-- page's default).
SELECT environment, COUNT(DISTINCT result_id) AS results, MAX(created_at) AS latest
FROM benchmark_results
GROUP BY environment
ORDER BY MAX(created_at) DESC, environment
