-- One rollout's stages in order.
SELECT * FROM mart_canary_stages WHERE rollout_id = :rollout_id ORDER BY stage
