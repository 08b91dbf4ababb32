#!/usr/bin/env python3
"""Math-Verify's verdicts for hand-written answer pairs, the ground truth of TokenMill's verifier tests.

Input: a text file, one pair a line: `family ;; reference ;; answer` (blank lines and lines
starting with `#` are skipped). `\\n` inside a field stands for a newline.
Output: JSON lines {"family", "reference", "answer", "mathverify": true|false,
"gold_parsed", "answer_parsed"} in input order, as Math-Verify (PyPI `math-verify`) decides
them with its defaults: verify(parse(reference), parse(answer)).

    python3 -m venv /tmp/venv-mv && /tmp/venv-mv/bin/pip install math-verify
    /tmp/venv-mv/bin/python ops/eval/mathverify_table.py ops/eval/pairs_table.txt \
        > Tests/VerificationTests/Fixtures/table.jsonl
"""
import json
import sys

from math_verify import parse, verify


def pairs(path):
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split(" ;; ")
            if len(parts) != 3:
                sys.exit(f"{path}:{n}: expected 'family ;; reference ;; answer', got {len(parts)} fields")
            family, ref, ans = (p.replace("\\n", "\n") for p in parts)
            yield family.strip(), ref, ans


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: mathverify_table.py PAIRS.txt > table.jsonl")
    for family, ref, ans in pairs(sys.argv[1]):
        gold = parse(ref)
        pred = parse(ans)
        verdict = bool(verify(gold, pred))
        print(json.dumps({
            "family": family, "reference": ref, "answer": ans, "mathverify": verdict,
            "gold_parsed": [str(g) for g in gold], "answer_parsed": [str(p) for p in pred],
        }, ensure_ascii=False))


if __name__ == "__main__":
    main()
