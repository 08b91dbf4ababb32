-- What the roles of 0050_hardening need on the distill kind's tables (split out of 0050 so that each
-- module's migrations grant on its own tables; a database migrated before the split already holds
-- these grants, and granting again changes nothing). tokenmill_submitter builds datasets
-- (`tokenmill distill`): it writes datasets and their prompts and reads the samples.
GRANT SELECT, INSERT ON tokenmill.distill_samples TO tokenmill_worker;
GRANT SELECT ON tokenmill.datasets, tokenmill.dataset_prompts TO tokenmill_worker;
GRANT SELECT, INSERT, UPDATE ON tokenmill.datasets TO tokenmill_submitter;
GRANT SELECT, INSERT ON tokenmill.dataset_prompts TO tokenmill_submitter;
GRANT SELECT ON tokenmill.distill_samples TO tokenmill_submitter;
