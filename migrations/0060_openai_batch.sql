-- OpenAI Batch API support (`tokenmill batch submit/output/status`).
-- Answer-token log-probabilities, recorded when a generate payload asks for them (`top_logprobs`):
-- [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}], the layout of the
-- chat completions API's `logprobs.content`.
ALTER TABLE tokenmill.generation_outputs ADD COLUMN logprobs jsonb;

-- Requests of a batch are found by jobs_batch_idx and their payload->'openai' (no extra index on the hot table).

-- Reasoning mode 'none': plain chat without a reasoning prompt (what OpenAI Batch requests without
-- reasoning_effort or difficulty run as).
ALTER TABLE tokenmill.generation_outputs DROP CONSTRAINT generation_outputs_reasoning_mode_check;
ALTER TABLE tokenmill.generation_outputs
    ADD CONSTRAINT generation_outputs_reasoning_mode_check CHECK (reasoning_mode IN ('markers', 'plain', 'none'));
