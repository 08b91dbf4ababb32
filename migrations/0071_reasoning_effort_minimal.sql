-- Reasoning effort `minimal` (plain mode: short worked examples shown before the item).
ALTER TABLE tokenmill.generation_outputs DROP CONSTRAINT IF EXISTS generation_outputs_reasoning_effort_check;
ALTER TABLE tokenmill.generation_outputs
    ADD CONSTRAINT generation_outputs_reasoning_effort_check
    CHECK (reasoning_effort IN ('minimal', 'low', 'medium', 'high'));
