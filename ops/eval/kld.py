#!/usr/bin/env python3
"""Compare two raw float32 logits files [n_tokens][n_vocab] (format: ops/fixtures/README.md).

usage: kld.py REFERENCE.f32 CANDIDATE.f32 (--vocab N | --rows N) [--tokens IDS] [--json] [--max-kld X]

REFERENCE is llama.cpp (dump_logits), CANDIDATE is TokenMill (`tokenmill logits`).
Per row, softmax in float64, KL(reference || candidate) = sum p_ref * (log p_ref - log p_cand).
Prints mean / p99 / max KLD, top-1 agreement %, max abs logit difference, and how many rows are
bit-identical (with the mean KLD from the first row that differs: a floor measured on an engine
against itself may agree exactly over a prefix).
With --tokens IDS (the evaluated ids) it also prints both engines' perplexity on the text.
With --max-kld X the exit status is 1 when the mean KLD exceeds X.
"""
import argparse
import json
import os
import sys

import numpy as np


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    z = x - m
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def compare(ref_path: str, cand_path: str, vocab: int = 0, rows: int = 0, chunk: int = 64, tokens=None) -> dict:
    size_r, size_c = os.path.getsize(ref_path), os.path.getsize(cand_path)
    if size_r != size_c:
        raise SystemExit(f"size mismatch: {ref_path} {size_r} B, {cand_path} {size_c} B")
    n_floats = size_r // 4
    if size_r % 4:
        raise SystemExit(f"{ref_path}: size {size_r} is not a multiple of 4")
    if vocab:
        rows = n_floats // vocab
    elif rows:
        vocab = n_floats // rows
    else:
        raise SystemExit("give --vocab or --rows")
    if rows * vocab != n_floats or rows == 0:
        raise SystemExit(f"{n_floats} floats do not form [{rows}][{vocab}]")
    ref = np.memmap(ref_path, dtype="<f4", mode="r", shape=(rows, vocab))
    cand = np.memmap(cand_path, dtype="<f4", mode="r", shape=(rows, vocab))
    klds = np.empty(rows, dtype=np.float64)
    nll_r = nll_c = 0.0
    agree = 0
    max_abs = 0.0
    nonfinite = 0
    identical = np.zeros(rows, dtype=bool)
    for s in range(0, rows, chunk):
        r = np.asarray(ref[s:s + chunk], dtype=np.float64)
        c = np.asarray(cand[s:s + chunk], dtype=np.float64)
        identical[s:s + chunk] = (r == c).all(axis=1)
        bad = ~np.isfinite(c)
        nonfinite += int(bad.sum())
        if bad.any():
            c = np.where(bad, -1e30, c)
        lr, lc = log_softmax(r), log_softmax(c)
        klds[s:s + chunk] = (np.exp(lr) * (lr - lc)).sum(axis=1)
        if tokens is not None:
            nxt = np.asarray(tokens[s + 1:s + 1 + len(r)])
            k = len(nxt)
            nll_r -= float(lr[np.arange(k), nxt].sum())
            nll_c -= float(lc[np.arange(k), nxt].sum())
        agree += int((r.argmax(axis=1) == c.argmax(axis=1)).sum())
        max_abs = max(max_abs, float(np.abs(r - c).max()))
    extra = {}
    if tokens is not None and rows > 1:
        extra = {"ppl_reference": float(np.exp(nll_r / (rows - 1))),
                 "ppl_candidate": float(np.exp(nll_c / (rows - 1)))}
    # Rows before the first that differs at all: an engine compared with itself (batch against one
    # token per pass) can agree bit for bit over a prefix, which says nothing about its noise there.
    first_diff = int(np.argmin(identical)) if not identical.all() else rows
    return {
        **extra,
        "rows": rows,
        "vocab": vocab,
        "identical_rows": int(identical.sum()),
        "first_differing_row": first_diff,
        "mean_kld_from_first_difference": float(klds[first_diff:].mean()) if first_diff < rows else 0.0,
        "mean_kld": float(klds.mean()),
        "p99_kld": float(np.percentile(klds, 99)),
        "max_kld": float(klds.max()),
        "top1_agreement_pct": 100.0 * agree / rows,
        "max_abs_logit_diff": max_abs,
        "nonfinite_candidate_values": nonfinite,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference")
    ap.add_argument("candidate")
    ap.add_argument("--vocab", type=int, default=0)
    ap.add_argument("--rows", type=int, default=0)
    ap.add_argument("--tokens", help="file with the evaluated token ids (for perplexity)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--max-kld", type=float, default=None, help="fail (exit 1) when the mean KLD is above this")
    a = ap.parse_args()
    tokens = None
    if a.tokens:
        import re
        tokens = [int(t) for t in re.findall(r"\d+", open(a.tokens).read())]
    res = compare(a.reference, a.candidate, a.vocab, a.rows, tokens=tokens)
    if tokens is not None and len(tokens) != res["rows"]:
        raise SystemExit(f"--tokens has {len(tokens)} ids, logits have {res['rows']} rows")
    if a.json:
        print(json.dumps(res))
    else:
        print(f"rows x vocab        {res['rows']} x {res['vocab']}")
        print(f"mean KLD            {res['mean_kld']:.6g}")
        if res["identical_rows"]:
            print(f"identical rows      {res['identical_rows']} (first difference at row {res['first_differing_row']}; "
                  f"mean KLD from there {res['mean_kld_from_first_difference']:.6g})")
        print(f"p99 KLD             {res['p99_kld']:.6g}")
        print(f"max KLD             {res['max_kld']:.6g}")
        print(f"top-1 agreement     {res['top1_agreement_pct']:.2f} %")
        print(f"max |logit diff|    {res['max_abs_logit_diff']:.6g}")
        if "ppl_reference" in res:
            print(f"perplexity ref/cand {res['ppl_reference']:.4f} / {res['ppl_candidate']:.4f}")
        if res["nonfinite_candidate_values"]:
            print(f"NON-FINITE values in candidate: {res['nonfinite_candidate_values']}")
    if res["nonfinite_candidate_values"]:
        return 1
    if a.max_kld is not None and res["mean_kld"] > a.max_kld:
        print(f"FAIL: mean KLD {res['mean_kld']:.6g} > {a.max_kld}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
