-- What the roles of 0050_hardening need on the quantize kind's table (split out of 0050 so that each
-- module's migrations grant on its own tables; a database migrated before the split already holds
-- these grants, and granting again changes nothing).
GRANT SELECT, INSERT ON tokenmill.quantization_results TO tokenmill_worker;
GRANT SELECT ON tokenmill.quantization_results TO tokenmill_submitter;
