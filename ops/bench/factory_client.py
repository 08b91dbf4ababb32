#!/usr/bin/env python3
"""Posts every item of a JSONL prompt set to llama-server's /v1/chat/completions, N at a time,
greedy, with the same max_tokens TokenMill's batch used; prints one JSON line of totals.

usage: factory_client.py URL ITEMS.jsonl --max-tokens M [--parallel 8] [--samples N --temperature T]
Each item: {"id", "messages": [...]}. With --samples N each item is posted N times (distill-style:
N samples of one prompt, seeds 0..N-1), or with --n once asking for N choices (llama-server's
parallel sampling of one prompt); then --parallel counts requests and outputs are counted per choice.
"""
import argparse
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def post(url, body):
    req = urllib.request.Request(url + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=3600) as r:
        return json.load(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("items")
    ap.add_argument("--max-tokens", type=int, required=True)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--n", action="store_true", help="one request with n = samples per item")
    a = ap.parse_args()
    items = [json.loads(l) for l in open(a.items) if l.strip()]
    bodies = []
    for it in items:
        if a.n:
            bodies.append({"messages": it["messages"], "max_tokens": a.max_tokens, "temperature": a.temperature,
                           "cache_prompt": True, "n": a.samples})
            continue
        for s in range(a.samples):
            b = {"messages": it["messages"], "max_tokens": a.max_tokens, "temperature": a.temperature,
                 "cache_prompt": True}
            if a.temperature == 0:
                b["top_k"] = 1
            else:
                b["seed"] = s
            bodies.append(b)
    t0 = time.monotonic()
    with ThreadPoolExecutor(a.parallel) as ex:
        results = list(ex.map(lambda b: post(a.url, b), bodies))
    wall = time.monotonic() - t0
    prompt = sum(r["usage"]["prompt_tokens"] for r in results)
    gen = sum(r["usage"]["completion_tokens"] for r in results)
    outputs = sum(len(r["choices"]) for r in results)
    print(json.dumps({"requests": outputs, "wall_s": wall, "prompt_tokens": prompt, "generated_tokens": gen}))


if __name__ == "__main__":
    main()
