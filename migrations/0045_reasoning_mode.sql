-- Reasoning mode of each generate output: 'markers' (thinking between <think> and </think>) or
-- 'plain' (models without markers: thinking is the text before the final answer). Rows written
-- before this migration were all read with markers.
ALTER TABLE tokenmill.generation_outputs
    ADD COLUMN reasoning_mode text NOT NULL DEFAULT 'markers' CHECK (reasoning_mode IN ('markers', 'plain'));

-- Accuracy against thinking tokens per batch, policy and difficulty (`tokenmill report`): counts, so
-- that intervals can be computed from them.
CREATE VIEW tokenmill.generation_curve AS
SELECT batch_id, model, budget_policy, reasoning_mode, difficulty,
       count(*)                                        AS items,
       count(correct)                                  AS judged,
       count(*) FILTER (WHERE correct)                 AS correct,
       sum(thinking_tokens)                            AS thinking_tokens,
       avg(thinking_tokens)::double precision          AS mean_thinking_tokens,
       avg(answer_tokens)::double precision            AS mean_answer_tokens,
       avg(forced_tokens)::double precision            AS mean_forced_tokens,
       avg(budget_hit::int)::double precision          AS budget_hit_rate,
       count(*) FILTER (WHERE answer_tokens = 0)       AS without_answer,
       min(thinking_budget)                            AS min_thinking_budget,
       max(thinking_budget)                            AS max_thinking_budget
  FROM tokenmill.generation_outputs
 GROUP BY batch_id, model, budget_policy, reasoning_mode, difficulty;

GRANT SELECT ON tokenmill.generation_curve TO tokenmill_reader, tokenmill_worker;
