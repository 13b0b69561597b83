-- Redshift bulk load of one run, step 4, in the transaction of the COPY: the run's result rows replaced by the
-- staged ones (the load deleted the run's rows of every run table just before), then staging dropped.
INSERT INTO eval_results ({result_columns}) SELECT {result_columns} FROM eval_results_staging;
DROP TABLE eval_results_staging;
