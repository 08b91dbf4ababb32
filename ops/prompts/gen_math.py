#!/usr/bin/env python3
"""Writes jobs/prompts/math-mixed.jsonl: arithmetic and algebra word problems whose difficulty is
the number of reasoning steps, each with its exact answer. Deterministic (fixed seed).

Levels: 1-2 easy (one or two operations), 3 medium, 4-5 hard (multi-step, fractions, percents).
Usage: python3 ops/prompts/gen_math.py [--per-level N] [--seed S] [--prefix P] > jobs/prompts/math-mixed.jsonl
"""
import argparse, json, random
from fractions import Fraction

NAMES = ["Ana", "Ben", "Chloe", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jun", "Kofi", "Lena"]
ITEMS = ["apples", "pencils", "stickers", "marbles", "books", "cards", "shells", "coins"]

def fmt(x):
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    d = x.denominator
    while d % 2 == 0: d //= 2
    while d % 5 == 0: d //= 5
    if d == 1:  # terminating decimal
        from decimal import Decimal
        return format(Decimal(x.numerator) / Decimal(x.denominator), "f")
    return f"{x.numerator}/{x.denominator}"

def level1(r):
    a, b = r.randint(10, 99), r.randint(10, 99)
    op = r.choice(["+", "-", "*"])
    v = {"+": a + b, "-": a - b, "*": a * b}[op]
    return f"What is {a} {op} {b}?", v

def level2(r):
    n, it = r.choice(NAMES), r.choice(ITEMS)
    a, b, c = r.randint(5, 40), r.randint(2, 9), r.randint(1, 20)
    return f"{n} has {b} boxes with {a} {it} in each box and gives away {c} {it}. How many {it} does {n} have left?", a * b - c

def level3(r):
    n, it = r.choice(NAMES), r.choice(ITEMS)
    a, b, c, d = r.randint(20, 90), r.randint(2, 6), r.randint(3, 15), r.randint(2, 5)
    total = a * b
    v = (total - c) * d
    return (f"{n} buys {b} packs of {a} {it}, loses {c} of them, and then the number of {it} is multiplied by {d} "
            f"in a trade. How many {it} does {n} have now?"), v

def level4(r):
    n = r.choice(NAMES)
    price, qty = r.randint(3, 20), r.randint(4, 12)
    pct = r.choice([10, 20, 25, 50])
    paid = r.choice([100, 200, 500])
    while price * qty >= paid:
        qty -= 1
    cost = Fraction(price * qty) * (100 - pct) / 100
    v = Fraction(paid) - cost
    return (f"{n} buys {qty} tickets at {price} dollars each with a {pct}% discount on the total, and pays with a "
            f"{paid} dollar note. How much change does {n} get, in dollars?"), v

def level5(r):
    a, b = r.randint(2, 9), r.randint(2, 9)
    x = r.randint(-9, 9)
    y = r.randint(-9, 9)
    c1, c2 = r.randint(1, 5), r.randint(1, 5)
    while a * c2 - b * c1 == 0:
        c2 += 1
    e1 = a * x + b * y
    e2 = c1 * x + c2 * y
    return (f"Solve the system {a}x + {b}y = {e1} and {c1}x + {c2}y = {e2}. What is x + 2y?"), x + 2 * y

GEN = {1: level1, 2: level2, 3: level3, 4: level4, 5: level5}
TIER = {1: "easy", 2: "easy", 3: "medium", 4: "hard", 5: "hard"}

def items(per_level, seed, prefix="", gen=GEN):
    """Items of levels 1-5 from the level generators `gen`, `per_level` each, ids PREFIX + L<level>-<n>."""
    r = random.Random(seed)
    for level in range(1, 6):
        for i in range(per_level):
            q, v = gen[level](r)
            yield {"id": f"{prefix}L{level}-{i:03d}", "prompt": q, "difficulty": TIER[level],
                   "level": level, "reference": fmt(v)}

def main(seed=20261127, prefix="", gen=GEN):
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-level", type=int, default=12)
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--prefix", default=prefix)
    args = ap.parse_args()
    for it in items(args.per_level, args.seed, args.prefix, gen):
        print(json.dumps(it))

if __name__ == "__main__":
    main()
