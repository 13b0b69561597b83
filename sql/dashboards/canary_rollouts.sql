-- Every canary rollout with its last stage's verdict.
SELECT rollout_id, MIN(window_start) AS started, MAX(stage) AS stages, MAX(decided_at) AS last_decided
FROM mart_canary_stages GROUP BY rollout_id ORDER BY MAX(decided_at) DESC, rollout_id
