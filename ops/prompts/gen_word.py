#!/usr/bin/env python3
"""Multi-step word problems worded differently from gen_math.py: fractions, rates, units and simple
equations, each with its exact answer. Deterministic (fixed seed). A second, independent source for
the evaluation set (ops/prompts/make_eval.py).

Levels (the same five as gen_math.py; 1-2 easy, 3 medium, 4-5 hard):
  1  one unit conversion or one fraction of a quantity
  2  a rate times a time (with a unit conversion) or a part of a part
  3  a linear equation with the unknown on both sides, or a rate problem over mixed units
  4  fractions of a whole across two states (capacity from a change), or a fraction sum then product
  5  two rates combined (work together, catch-up), answers may be fractions

Usage: python3 ops/prompts/gen_word.py [--per-level N] [--seed S] [--prefix W-]
"""
import random
from fractions import Fraction

import gen_math
from gen_math import fmt

PEOPLE = ["Priya", "Tomás", "Mei", "Olu", "Sven", "Amara", "Yusuf", "Ines", "Kai", "Noor", "Rafa", "Zoe"]

def level1(r):
    kind = r.choice(["unit", "unit", "fraction"])
    if kind == "unit":
        unit = r.choice([("meters", "centimeters", 100), ("hours", "minutes", 60), ("kilograms", "grams", 1000),
                         ("liters", "milliliters", 1000), ("minutes", "seconds", 60)])
        a = r.randint(2, 19)
        return f"Convert {a} {unit[0]} to {unit[1]}. Give just the number of {unit[1]}.", a * unit[2]
    d = r.choice([2, 3, 4, 5, 6, 8, 10])
    n = r.randint(1, d - 1)
    whole = d * r.randint(3, 15)
    return f"Compute {n}/{d} of {whole}.", Fraction(n, d) * whole

def level2(r):
    p = r.choice(PEOPLE)
    if r.random() < 0.5:
        speed = r.randint(3, 24) * 5
        minutes = r.choice([30, 90, 150, 210])
        return (f"{p} drives at a steady {speed} km per hour for {minutes} minutes. "
                f"How many kilometers does {p} cover?"), Fraction(speed * minutes, 60)
    d1, d2 = r.choice([2, 3, 4, 5]), r.choice([2, 3, 4])
    total = d1 * d2 * r.randint(2, 12)
    return (f"A class of {total} students: 1/{d1} of them play a sport, and 1/{d2} of those play football. "
            f"How many students play football?"), Fraction(total, d1 * d2)

def level3(r):
    if r.random() < 0.5:
        x = r.randint(-12, 15)
        a = r.randint(3, 9)
        c = r.randint(1, a - 1)
        b = r.randint(-20, 20)
        d = (a - c) * x + b
        bs = f"+ {b}" if b >= 0 else f"- {-b}"
        ds = f"+ {d}" if d >= 0 else f"- {-d}"
        return f"Find the value of n that satisfies {a}n {bs} = {c}n {ds}.", x
    rate = r.randint(4, 30)
    h, m = r.randint(1, 3), r.choice([15, 30, 45])
    return (f"A pump moves {rate} liters of water every minute. How many liters does it move in "
            f"{h} hours and {m} minutes?"), rate * (60 * h + m)

def level4(r):
    if r.random() < 0.5:
        while True:
            d = r.choice([4, 5, 6, 8, 10, 12])
            f1 = Fraction(r.randint(1, d - 2), d)
            f2 = Fraction(r.randint(f1.numerator * (d // f1.denominator) + 1, d - 1), d)
            cap = r.randint(2, 20) * d
            added = (f2 - f1) * cap
            if added.denominator == 1 and added > 0:
                break
        return (f"A water tank is {f1.numerator}/{f1.denominator} full. After {added} liters are poured in, it is "
                f"{f2.numerator}/{f2.denominator} full. What is the capacity of the tank in liters?"), cap
    a, b, c = Fraction(r.randint(1, 5), r.choice([2, 3, 4, 6])), Fraction(r.randint(1, 5), r.choice([3, 4, 5, 8])), \
        Fraction(r.randint(1, 4), r.choice([3, 5, 7]))
    return (f"Add {a.numerator}/{a.denominator} and {b.numerator}/{b.denominator}, then multiply the sum by "
            f"{c.numerator}/{c.denominator}. Write the result as a fraction in lowest terms."), (a + b) * c

def level5(r):
    if r.random() < 0.5:
        p, q = r.sample(PEOPLE, 2)
        ta, tb = r.choice([(2, 3), (3, 6), (4, 12), (6, 3), (5, 20), (10, 15), (4, 6), (12, 4), (8, 24), (6, 12)])
        return (f"{p} can paint a fence alone in {ta} hours and {q} can paint it alone in {tb} hours. "
                f"Working together at those rates, how many hours do they need?"), Fraction(ta * tb, ta + tb)
    a = r.randint(4, 16) * 5
    b = a + r.choice([5, 10, 15, 20, 25])
    lead = r.choice([1, 2, 3])
    return (f"A freight train leaves a station at {a} km/h. {lead} hour{'s' if lead > 1 else ''} later an express "
            f"train leaves the same station on a parallel track at {b} km/h. How many hours after the express "
            f"leaves does it catch up with the freight train?"), Fraction(a * lead, b - a)

GEN = {1: level1, 2: level2, 3: level3, 4: level4, 5: level5}

def items(per_level, seed, prefix="W-"):
    return gen_math.items(per_level, seed, prefix, GEN)

if __name__ == "__main__":
    gen_math.main(seed=20261202, prefix="W-", gen=GEN)
