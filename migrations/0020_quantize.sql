-- Quantize jobs: one row per output file (source × type), written once in the same transaction as
-- the job's fenced completion. No foreign key to tokenmill.jobs: pruning jobs keeps results.
CREATE TABLE tokenmill.quantization_results (
    job_id            bigint NOT NULL,
    source            text NOT NULL,              -- the model the job was given
    reference         text NOT NULL,              -- what quality is measured against (source or its dequantized copy)
    source_note       text,                       -- e.g. the reference was dequantized from a quantized file
    quant_type        text NOT NULL,              -- llama-quantize name: Q4_K_M, Q8_0, ...
    output_path       text NOT NULL,
    imatrix           text,
    requantized       boolean NOT NULL,
    file_bytes        bigint NOT NULL,
    bits_per_weight   double precision NOT NULL,  -- tensor data bits per weight (all tensors)
    quantize_seconds  double precision NOT NULL,
    tensor_types      jsonb NOT NULL,             -- tensors per stored type, {"q4_K": 96, "q6_K": 25, "f32": 61}
    eval_text         text,
    eval_context      integer,
    eval_tokens       integer,                    -- positions scored
    mean_kld          double precision,           -- KL(reference ‖ output) per token, nats
    median_kld        double precision,
    p99_kld           double precision,
    max_kld           double precision,
    perplexity        double precision,
    base_perplexity   double precision,
    ppl_ratio         double precision,
    top1_agreement    double precision,           -- fraction of positions with the same most likely token
    eval_seconds      double precision,
    warnings          jsonb NOT NULL DEFAULT '[]',
    reused            boolean NOT NULL DEFAULT false, -- output kept from an earlier attempt of the job
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, quant_type)
);
CREATE INDEX quantization_results_source_idx ON tokenmill.quantization_results (source, created_at);

-- llama.cpp-style scoreboard: the latest result per (source, reference, eval text, imatrix, type),
-- ranked by mean KLD, with size and perplexity relative to the reference.
CREATE VIEW tokenmill.quantization_scoreboard AS
WITH latest AS (
    SELECT DISTINCT ON (source, reference, coalesce(eval_text, ''), coalesce(imatrix, ''), quant_type) *
      FROM tokenmill.quantization_results
     ORDER BY source, reference, coalesce(eval_text, ''), coalesce(imatrix, ''), quant_type, created_at DESC
)
SELECT source, reference, eval_text, imatrix, quant_type,
       rank() OVER (PARTITION BY source, reference, eval_text, imatrix ORDER BY mean_kld NULLS LAST) AS kld_rank,
       round(bits_per_weight::numeric, 3)                        AS bpw,
       round((file_bytes / 1048576.0)::numeric, 1)               AS size_mib,
       mean_kld, p99_kld, top1_agreement,
       perplexity, base_perplexity, ppl_ratio,
       round((100 * (ppl_ratio - 1))::numeric, 3)                AS ppl_increase_pct,
       quantize_seconds, eval_tokens, source_note, output_path, job_id, created_at
  FROM latest;
