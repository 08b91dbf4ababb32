#!/usr/bin/env python3
"""Worst-case time per pair of `tokenmill verify` on hostile inputs, beside Math-Verify's in the same run.

    python3 ops/eval/verify_timing.py .build/release/tokenmill            # TokenMill only
    /tmp/venv-mv/bin/python ops/eval/verify_timing.py .build/release/tokenmill   # + Math-Verify (if importable)

Each case runs as its own `tokenmill verify --file` process (one pair, both orders: hostile answer and
hostile reference), so the time includes process start; the `baseline` row (a one-character pair) shows
that part. Math-Verify runs in this process with its default 5 s timeouts (parse and verify each).
"""
import json
import os
import subprocess
import sys
import tempfile
import time


def cases():
    mib = 1 << 20
    yield "baseline", "5"
    yield "1 MiB of '{'", "{" * mib
    yield "1 MiB of '}'", "}" * mib
    yield "1 MiB of '\\boxed{' (unbalanced)", "\\boxed{" * (mib // 7)
    yield "1 MiB of '$'", "$" * mib
    yield "1 MiB of digits", "7" * mib
    yield "1 MiB of 'answer is $'", "answer is $" * (mib // 11)
    yield "1 MiB of text, boxed at the end", "The value is 3. " * (mib // 16) + "\\boxed{5}"
    yield "60 KiB of 'answer = 1 '", "answer " + "= 1 " * (60 * 1024 // 4)
    yield "60 KiB of '$a$ and '", "$a$ and " * (60 * 1024 // 8)
    yield "60 KiB of ' [ '", " [ " * (60 * 1024 // 3)
    yield "60 KiB of '\\[' (unclosed)", "\\[" * (60 * 1024 // 2)
    yield "60 KiB of '\\boxed{1} '", "\\boxed{1} " * (60 * 1024 // 10)
    yield "60 KiB of '\\boxed{1}, ' in $$...$$", "$$" + "\\boxed{1}, " * (60 * 1024 // 11) + "$$"
    yield "\\frac nested 3000 deep", "\\boxed{" + "\\frac{1}{" * 3000 + "2" + "}" * 3001
    yield "parentheses nested 5000 deep", "$" + "(" * 5000 + "1" + ")" * 5000 + "$"
    yield "power tower 2000 high", "$" + "2^{" * 2000 + "2" + "}" * 2000 + "$"
    yield "sum of 3000 terms", "$" + "+".join("x" for _ in range(3000)) + "$"
    yield "set of 64 expressions", "$\\{" + ", ".join(f"x^{{{i}}}+{i}" for i in range(64)) + "\\}$"
    yield "10^{10^{10}}", "$10^{10^{10}}$"
    yield "1000000!", "$1000000!$"


def time_tokenmill(binary, ref, ans):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write(json.dumps({"reference": ref, "answer": ans}) + "\n")
        path = f.name
    try:
        t = time.perf_counter()
        p = subprocess.run([binary, "verify", "--file", path, "--json"], capture_output=True, timeout=120)
        dt = time.perf_counter() - t
        row = json.loads(p.stdout.decode().splitlines()[0]) if p.returncode == 0 and p.stdout else {}
        return dt, row.get("correct", f"exit {p.returncode}")
    finally:
        os.unlink(path)


def time_mathverify(ref, ans):
    from math_verify import parse, verify
    t = time.perf_counter()
    try:
        ok = verify(parse(ref), parse(ans))
    except Exception as e:  # Math-Verify itself may raise on some inputs
        ok = f"error {type(e).__name__}"
    return time.perf_counter() - t, ok


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: verify_timing.py PATH/TO/tokenmill")
    binary = sys.argv[1]
    try:
        import math_verify  # noqa: F401
        peer = True
    except ImportError:
        peer = False
    print(f"{'case':40} {'bytes':>8}  tokenmill ms (hostile answer / hostile reference)")
    worst = 0.0
    worst_peer = 0.0
    for name, hostile in cases():
        a_t, a_v = time_tokenmill(binary, "5", hostile)
        r_t, r_v = time_tokenmill(binary, hostile, "5")
        if name != "baseline":
            worst = max(worst, a_t, r_t)
        line = f"{name:40} {len(hostile.encode()):8}  {a_t * 1000:9.0f} / {r_t * 1000:6.0f}  ({a_v}, {r_v})"
        if peer:
            pa_t, pa_v = time_mathverify("5", hostile)
            pr_t, pr_v = time_mathverify(hostile, "5")
            if name != "baseline":
                worst_peer = max(worst_peer, pa_t, pr_t)
            line += f"   math-verify {pa_t * 1000:8.0f} / {pr_t * 1000:6.0f}  ({pa_v}, {pr_v})"
        print(line, flush=True)
    print(f"worst case per pair: tokenmill {worst * 1000:.0f} ms (process start included)"
          + (f", math-verify {worst_peer * 1000:.0f} ms" if peer else ""))


if __name__ == "__main__":
    main()
