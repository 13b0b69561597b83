-- migrate: no-transaction
-- quality_pairs was distributed by intent (8 values: skewed). It is small (per run: intents x configurations x
-- reference configurations, a few hundred rows) and joined by mart_routing_recommendation on (run, intent,
-- config): copied to every node like the other small tables of a run (routing_policy, intent_mix,
-- current_routing), so that join never moves rows.
ALTER TABLE quality_pairs ALTER DISTSTYLE ALL;
