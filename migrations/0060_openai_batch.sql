-- OpenAI Batch API support (`tokenmill batch submit/output/status`).
-- Answer-token log-probabilities, recorded when a generate payload asks for them (`top_logprobs`):
-- [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}], the layout of the
-- chat completions API's `logprobs.content`.
ALTER TABLE tokenmill.generation_outputs ADD COLUMN logprobs jsonb;

-- Requests of a batch are found by jobs_batch_idx and their payload->'openai' (no extra index on the hot table).
