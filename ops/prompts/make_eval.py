#!/usr/bin/env python3
"""Writes jobs/prompts/math-eval.jsonl, the evaluation set of the thinking-budget bench
(ops/bench/budgets.sh): items from two independent generators over the five difficulty levels,
each with its exact answer. The id says the source (`A-` arith, `W-` word) and decides the half;
the items carry only fields of the generate payload, so the file feeds `tokenmill generate` as is.

  arith  ops/prompts/gen_math.py (arithmetic and algebra; the shipped generator, its own seed)
  word   ops/prompts/gen_word.py (fractions, rates, units, simple equations; different wording)

The half is a fixed rule on the item id (the same rule as `EvalSplit` in Sources/Reasoning): the low
bit of the 64-bit FNV-1a hash of the id's UTF-8 bytes after MurmurHash3's finaliser; 0 = "fit" (policies and the difficulty estimator
are fitted on it), 1 = "heldout" (everything is reported on it). Deterministic: rerunning rewrites
the same file and prints the items per source, level and half on stderr.

Usage: python3 ops/prompts/make_eval.py [--per-level 32] > jobs/prompts/math-eval.jsonl
"""
import argparse, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_math, gen_word

def fnv1a64(text):
    h = 0xcbf29ce484222325
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h

def fmix64(h):
    """MurmurHash3's finaliser: every input bit reaches every output bit (FNV-1a alone does not)."""
    M = 0xFFFFFFFFFFFFFFFF
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & M
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & M
    h ^= h >> 33
    return h

def half(item_id):
    return "fit" if fmix64(fnv1a64(item_id)) & 1 == 0 else "heldout"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-level", type=int, default=32)
    args = ap.parse_args()
    sources = [("arith", gen_math.items(args.per_level, 20261202, "A-")),
               ("word", gen_word.items(args.per_level, 20261203, "W-"))]
    counts = {}
    for name, items in sources:
        for it in items:
            key = (name, it["level"], half(it["id"]))
            counts[key] = counts.get(key, 0) + 1
            print(json.dumps(it))
    for key in sorted(counts):
        print("%-6s level %d %-8s %3d" % (key + (counts[key],)), file=sys.stderr)

if __name__ == "__main__":
    main()
