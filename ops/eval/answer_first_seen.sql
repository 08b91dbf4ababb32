-- Where in its reasoning a model first writes the answer: the upper bound of every early-exit
-- policy (answer probing, confidence exits, a cut at the "right" moment) on a batch.
--
-- For each correct output of the batch, the position of the first occurrence of the reference
-- value in thinking_text (as a whole number: not inside a longer one), as a share of the text's
-- length; and the thinking tokens an oracle would save by stopping exactly there (tokens after the
-- first occurrence, estimated from that share). An output whose reasoning never writes the value
-- (it appears only in the answer) counts as saving nothing.
--
--   psql "$DATABASE_URL" -v batch=6 -f ops/eval/answer_first_seen.sql
with o as (
    select difficulty, thinking_tokens, length(thinking_text) as chars,
           regexp_instr(thinking_text, '(?<![0-9.])' || regexp_replace(btrim(reference), '([.^$*+?()\[\]{}|\\-])', '\\\1', 'g')
                                       || '(?![0-9])') as first_at
    from tokenmill.generation_outputs
    where batch_id = :batch and correct and reference is not null and btrim(reference) <> ''
), f as (
    select difficulty, thinking_tokens,
           case when first_at > 0 and chars > 0 then (first_at - 1)::float8 / chars end as share
    from o
)
select coalesce(difficulty, 'all') as difficulty,
       count(*) as correct_items,
       count(share) as value_in_reasoning,
       round(avg(share)::numeric, 2) as mean_first_seen_at,
       round(avg(thinking_tokens)::numeric, 1) as mean_thinking,
       round((100 * sum(thinking_tokens * (1 - coalesce(share, 1))) / nullif(sum(thinking_tokens), 0))::numeric, 1)
           as oracle_saving_pct
from f
group by rollup (difficulty)
order by difficulty nulls last;
