-- Monthly cost if one configuration served every intent (NULL intents_missing > 0: it has no figures for some).
SELECT pr.config_id, SUM(pr.monthly_usd) AS monthly_usd,
       (SELECT COUNT(*) FROM intent_mix x WHERE x.run_id = :run_id) - COUNT(*) AS intents_missing
FROM mart_monthly_projection pr
WHERE pr.run_id = :run_id
GROUP BY pr.config_id
ORDER BY pr.config_id
