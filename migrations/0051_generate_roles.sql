-- What the roles of 0050_hardening need on the generate kind's table (split out of 0050 so that each
-- module's migrations grant on its own tables; a database migrated before the split already holds
-- these grants, and granting again changes nothing).
GRANT SELECT, INSERT ON tokenmill.generation_outputs TO tokenmill_worker;
GRANT SELECT ON tokenmill.generation_outputs TO tokenmill_submitter;
