-- Warehouses created before eval_results carried `answer_hash` (sha256 of the answer's normal form, which people's
-- calibration labels name: mangaeval.results.answer_hash) gain it here.
ALTER TABLE eval_results ADD COLUMN IF NOT EXISTS answer_hash VARCHAR;
