-- Every configuration's answer to the cases of one page (test ids bound as :t0, :t1, ... by the caller).
SELECT * FROM mart_eval_answers WHERE run_id = :run_id AND intent = :intent AND test_id IN ({test_ids}) ORDER BY test_id, config_id
