-- Generate jobs: one output row per prompt item, written once in the same transaction as the
-- job's fenced completion. No foreign key to tokenmill.jobs: `tokenmill prune` drops job rows,
-- never outputs.
CREATE TABLE tokenmill.generation_outputs (
    job_id             bigint PRIMARY KEY,
    batch_id           bigint,
    item_id            text,
    model              text NOT NULL,
    difficulty         text NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
    difficulty_source  text NOT NULL CHECK (difficulty_source IN ('tag', 'estimate', 'default')),
    prompt             text NOT NULL,
    thinking_text      text NOT NULL DEFAULT '',
    answer_text        text NOT NULL DEFAULT '',
    finish_reason      text NOT NULL CHECK (finish_reason IN ('stop', 'length', 'budget', 'cancelled', 'error')),
    prompt_tokens      integer NOT NULL,
    thinking_tokens    integer NOT NULL,
    answer_tokens      integer NOT NULL,
    forced_tokens      integer NOT NULL DEFAULT 0,
    budget_policy      text NOT NULL,
    thinking_budget    integer,
    answer_budget      integer,
    budget_hit         boolean NOT NULL,
    extracted_answer   text,
    reference          text,
    correct            boolean,
    ttft_ms            double precision,
    decode_tokens_per_s double precision,
    sampling           jsonb NOT NULL,
    seed               bigint NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX generation_outputs_batch_idx ON tokenmill.generation_outputs (batch_id, difficulty);
CREATE INDEX generation_outputs_history_idx ON tokenmill.generation_outputs (model, difficulty, created_at);

-- Usage per batch and difficulty: items, tokens by part, mean thinking length, budget-hit rate,
-- accuracy where references exist, and thinking tokens saved against the budget that was allowed.
CREATE VIEW tokenmill.generation_usage AS
SELECT batch_id, model, difficulty, budget_policy,
       count(*)                                              AS items,
       sum(prompt_tokens)                                    AS prompt_tokens,
       sum(thinking_tokens)                                  AS thinking_tokens,
       sum(answer_tokens)                                    AS answer_tokens,
       sum(forced_tokens)                                    AS forced_tokens,
       avg(thinking_tokens)::double precision                AS mean_thinking_tokens,
       avg(budget_hit::int)::double precision                AS budget_hit_rate,
       count(correct)                                        AS judged,
       avg(correct::int) FILTER (WHERE correct IS NOT NULL)::double precision AS accuracy,
       avg(thinking_budget)::double precision                AS mean_thinking_budget,
       count(*) FILTER (WHERE finish_reason = 'error')       AS errors,
       avg(decode_tokens_per_s)::double precision            AS mean_decode_tokens_per_s
  FROM tokenmill.generation_outputs
 GROUP BY batch_id, model, difficulty, budget_policy;

-- Throughput per model and hour.
CREATE VIEW tokenmill.generation_throughput AS
SELECT model, date_trunc('hour', created_at) AS hour,
       count(*) AS items,
       sum(prompt_tokens + thinking_tokens + answer_tokens + forced_tokens) AS tokens,
       sum(thinking_tokens + answer_tokens + forced_tokens) AS generated_tokens,
       (sum(thinking_tokens + answer_tokens + forced_tokens)::double precision
          / greatest(extract(epoch FROM max(created_at) - min(created_at)), 1)) AS generated_tokens_per_s
  FROM tokenmill.generation_outputs
 GROUP BY model, date_trunc('hour', created_at);

GRANT SELECT, INSERT ON tokenmill.generation_outputs TO tokenmill_worker;
GRANT SELECT ON tokenmill.generation_usage, tokenmill.generation_throughput TO tokenmill_reader, tokenmill_worker;
