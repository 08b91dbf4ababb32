-- Hardening: least-privilege roles that cover every table, idempotency keys that outlive pruning,
-- and each worker's connection limit. What the roles need on the job kinds' own tables is granted by
-- each kind's migrations (0051_generate_roles, 0052_quantize_roles, 0053_distill_roles).
--
-- Privilege convention (README "Roles"): every migration that creates a table or view grants what the
-- three roles need on it, in the same file. Default privileges below also give tokenmill_worker
-- SELECT, INSERT and tokenmill_submitter SELECT on tables created later by the role that runs
-- `tokenmill migrate`, so an output table a migration forgets is still writable by workers;
-- tokenmill_reader gets no default (views only: a test checks it can read every view and no table).

DO $$
BEGIN
    BEGIN
        CREATE ROLE tokenmill_submitter NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
END $$;

-- Idempotency keys of pruned jobs: enqueue skips a (kind, key) listed here until expires_at, as it
-- skips one whose job row still exists (River's unique jobs keep their window the same way).
CREATE TABLE tokenmill.idempotency_keys (
    kind        text NOT NULL,
    key         text NOT NULL,
    job_id      bigint NOT NULL,
    finished_at timestamptz,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX idempotency_keys_expires_idx ON tokenmill.idempotency_keys (expires_at);

-- The most connections each worker opens (`tokenmill worker --max-connections`); `status` sums it.
ALTER TABLE tokenmill.workers ADD COLUMN max_connections integer;

CREATE OR REPLACE VIEW tokenmill.worker_status AS
SELECT w.id AS worker_id, w.host, w.pid, w.kinds, w.concurrency, w.state, w.running_jobs,
       w.jobs_succeeded, w.jobs_failed, w.started_at, w.last_heartbeat, w.stopped_at,
       (w.state <> 'stopped' AND w.last_heartbeat > now() - make_interval(secs => 3 * w.lease_seconds)) AS alive,
       extract(epoch FROM now() - w.last_heartbeat)::double precision AS seconds_since_heartbeat,
       w.max_connections
  FROM tokenmill.workers w;

GRANT USAGE ON SCHEMA tokenmill TO tokenmill_submitter;

-- tokenmill_worker: claim, heartbeat, complete (and prune: the retention loop).
GRANT SELECT, UPDATE, DELETE ON tokenmill.jobs TO tokenmill_worker;
GRANT SELECT, UPDATE ON tokenmill.batches TO tokenmill_worker;
GRANT SELECT, INSERT, UPDATE ON tokenmill.workers, tokenmill.job_kinds, tokenmill.job_results TO tokenmill_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON tokenmill.idempotency_keys TO tokenmill_worker;

-- tokenmill_submitter: enqueue (jobs, batches), cancel and retry, read results.
GRANT SELECT, INSERT, UPDATE ON tokenmill.jobs, tokenmill.batches TO tokenmill_submitter;
GRANT SELECT ON tokenmill.job_kinds, tokenmill.idempotency_keys, tokenmill.job_results TO tokenmill_submitter;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA tokenmill TO tokenmill_worker, tokenmill_submitter;

-- Tables of migrations before this one that granted nothing themselves: readable by workers and
-- submitters (the worker registry stays the workers' own).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables
              WHERE schemaname = 'tokenmill' AND tablename NOT IN ('schema_migrations', 'workers') LOOP
        EXECUTE format('GRANT SELECT ON tokenmill.%I TO tokenmill_worker, tokenmill_submitter', t.tablename);
    END LOOP;
END $$;

-- Every view, to every role (monitoring is never a secret from a role that may use the queue).
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT viewname FROM pg_views WHERE schemaname = 'tokenmill' LOOP
        EXECUTE format('GRANT SELECT ON tokenmill.%I TO tokenmill_reader, tokenmill_worker, tokenmill_submitter', v.viewname);
    END LOOP;
END $$;

-- Tables and sequences later migrations create (by the same migrating role).
ALTER DEFAULT PRIVILEGES IN SCHEMA tokenmill GRANT SELECT, INSERT ON TABLES TO tokenmill_worker;
ALTER DEFAULT PRIVILEGES IN SCHEMA tokenmill GRANT SELECT ON TABLES TO tokenmill_submitter;
ALTER DEFAULT PRIVILEGES IN SCHEMA tokenmill GRANT USAGE ON SEQUENCES TO tokenmill_worker, tokenmill_submitter;
