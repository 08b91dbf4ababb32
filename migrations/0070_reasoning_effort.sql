-- The reasoning effort each generate output's instruction asked for (`budget.effort`: low, medium or
-- high); NULL where the payload set none (the default instruction, as before this migration).
ALTER TABLE tokenmill.generation_outputs
    ADD COLUMN IF NOT EXISTS reasoning_effort text CHECK (reasoning_effort IN ('low', 'medium', 'high'));
