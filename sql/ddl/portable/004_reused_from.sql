-- Warehouses created before eval_results carried `reused_from` (the run an answer was reused from) gain it here.
ALTER TABLE eval_results ADD COLUMN IF NOT EXISTS reused_from VARCHAR;
