#!/usr/bin/env python3
"""Summarize ops/bench/inference.sh results into one table.

usage: summarize.py RESULT_DIR

Reads, per model stem S (one per S.path file, holding the model path): S.llama-bench.json (llama-bench -o json), S.batched.jsonl
(llama-batched-bench --output-format jsonl), optional S.tokenmill.json (tokenmill bench
--json: array of {n_prompt, n_gen, n_threads, avg_ts, stddev_ts, n_sequences}), optional
S.llama-depth.json and S.tokenmill-depth.json (the same tests with n_depth positions already
in the KV cache), and membw.jsonl; with inference.sh's ROUNDS, also S.r<r>.* of every further round (then each row
gives the medians over the rounds and the ratio of each round). Prints model, test, llama.cpp t/s, TokenMill t/s, ratio
(TokenMill / llama.cpp) and decode GB/s (weight bytes read per decode step x steps/s).
Writes summary.json next to the inputs.
"""
import glob
import json
import os
import statistics
import struct
import sys

# GGUF metadata value types -> fixed sizes (8 = string, 9 = array handled separately)
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def gguf_tensor_bytes(path: str) -> dict:
    """Tensor name -> byte size, from the GGUF header (sizes = gaps between offsets)."""
    with open(path, "rb") as f:
        data = f.read(32 << 20)  # header of these models fits easily
        file_size = os.path.getsize(path)
    pos = 0

    def u(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = u("Q")
        s = data[pos:pos + n].decode("utf-8", "replace")
        pos += n
        return s

    def skip_value(t):
        nonlocal pos
        if t in _FIXED:
            v = struct.unpack_from("<" + {1: "B", 2: "H", 4: "I", 8: "Q"}[_FIXED[t]], data, pos)[0]
            pos += _FIXED[t]
            return v
        if t == 8:
            return string()
        if t == 9:
            et, n = u("I"), u("Q")
            if et in _FIXED:
                pos += _FIXED[et] * n
            else:
                for _ in range(n):
                    skip_value(et)
            return None
        raise ValueError(f"unknown GGUF value type {t}")

    if data[:4] != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    pos = 4
    u("I")
    n_tensors, n_kv = u("Q"), u("Q")
    alignment = 32
    for _ in range(n_kv):
        key = string()
        v = skip_value(u("I"))
        if key == "general.alignment":
            alignment = v
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = u("I")
        pos += 8 * nd
        u("I")
        infos.append((u("Q"), name))
    data_start = (pos + alignment - 1) // alignment * alignment
    infos.sort()
    sizes = {}
    for i, (off, name) in enumerate(infos):
        end = infos[i + 1][0] if i + 1 < len(infos) else file_size - data_start
        sizes[name] = end - off
    return sizes


def decode_bytes(path: str) -> int:
    """Bytes of weights read per decode step: all tensors, except that token_embd is only
    gathered (one row) when a separate output.weight exists."""
    sizes = gguf_tensor_bytes(path)
    total = sum(sizes.values())
    if "output.weight" in sizes:
        total -= sizes.get("token_embd.weight", 0)
    return total


def test_name(n_prompt, n_gen, n_seq, depth=0):
    base = f"pp{n_prompt}" if n_gen == 0 else (f"tg{n_gen}" if n_prompt == 0 else f"pp{n_prompt}+tg{n_gen}")
    base += f" @ d{depth}" if depth else ""
    return base if n_seq == 1 else f"{base} x{n_seq}"


def load_round(d: str, stem: str, prefix: str):
    """One round's figures: llama.cpp and TokenMill as {(n_prompt, n_gen, n_seq): (t/s, stddev)},
    TokenMill's memory record and kernel level, and the peak resident bytes of llama-bench and of
    TokenMill's one-sequence run (peak_rss.py records, None where missing)."""
    llama, tm, mem, level = {}, {}, None, None
    rss, tile_ns = {}, []
    for engine, name in (("llama", "llama-bench"), ("tokenmill", "tokenmill")):
        rp = os.path.join(d, f"{stem}.{prefix}{name}.rss.json")
        try:
            r = json.load(open(rp))
            rss[engine] = r["peak_rss_bytes"] if r.get("rc") == 0 else None
        except (OSError, ValueError, KeyError, TypeError):
            rss[engine] = None
    for lb in (os.path.join(d, f"{stem}.{prefix}llama-bench.json"), os.path.join(d, f"{stem}.{prefix}llama-depth.json")):
        if not (os.path.exists(lb) and os.path.getsize(lb) > 0):
            continue
        try:
            for e in json.load(open(lb)):
                llama[(e["n_prompt"], e["n_gen"], 1, e.get("n_depth", 0))] = (e["avg_ts"], e["stddev_ts"])
        except (ValueError, KeyError, TypeError) as err:  # e.g. a run still writing it
            print(f"warning: {lb} is not complete llama-bench JSON: {err}", file=sys.stderr)
    bb = os.path.join(d, f"{stem}.{prefix}batched.jsonl")
    if os.path.exists(bb):
        for line in open(bb):
            if not line.startswith("{"):
                continue
            e = json.loads(line)
            llama[(e["pp"], 0, e["pl"], 0)] = (e["speed_pp"], None)
            llama[(0, e["tg"], e["pl"], 0)] = (e["speed_tg"], None)
    for tp in (os.path.join(d, f"{stem}.{prefix}tokenmill.json"), os.path.join(d, f"{stem}.{prefix}tokenmill-depth.json")):
        if not os.path.exists(tp):
            continue
        try:
            for e in json.load(open(tp)):
                tm[(e["n_prompt"], e["n_gen"], e.get("n_sequences", 1), e.get("n_depth", 0))] = (e["avg_ts"], e.get("stddev_ts"))
                level = e.get("kernels", level)
                if e.get("amx_tile_ns"):
                    tile_ns.append(e["amx_tile_ns"])
                if e.get("rss_peak_bytes") and not e.get("n_depth"):
                    mem = {k: e.get(k) for k in ("rss_peak_bytes", "weights_bytes", "kv_bytes", "rss_anon_bytes",
                                                 "repacked_bytes", "copied_bytes", "kv_written_bytes", "other_anon_bytes")}
        except (ValueError, KeyError, TypeError) as err:
            print(f"warning: {tp} does not follow the bench JSON contract: {err}", file=sys.stderr)
    return llama, tm, mem, level, rss, tile_ns


def main() -> int:
    d = sys.argv[1] if len(sys.argv) > 1 else "."
    rows, out = [], {"models": {}, "membw": []}
    mb = os.path.join(d, "membw.jsonl")
    if os.path.exists(mb):
        out["membw"] = [json.loads(l) for l in open(mb) if l.strip()]
    for pp in sorted(glob.glob(os.path.join(d, "*.path"))):
        stem = os.path.basename(pp)[: -len(".path")]
        model_path = open(pp).read().strip()
        wbytes = decode_bytes(model_path)
        # Round 1's files are STEM.*, round r's STEM.r<r>.* (inference.sh ROUNDS).
        extra = set()
        for suffix in ("llama-bench.json", "batched.jsonl", "tokenmill.json"):
            for p in glob.glob(os.path.join(d, f"{stem}.r*.{suffix}")):
                tag = os.path.basename(p)[len(stem) + 1:].split(".")[0]
                if tag[1:].isdigit():
                    extra.add(int(tag[1:]))
        rounds = [load_round(d, stem, "")] + [load_round(d, stem, f"r{r}.") for r in sorted(extra)]
        mem = next((r[2] for r in rounds if r[2]), None)
        level = next((r[3] for r in rounds if r[3]), None)
        tile_ns = [v for r in rounds for v in r[5]]
        peaks = {e: [r[4][e] for r in rounds if r[4].get(e)] for e in ("llama", "tokenmill")}
        peak = {e: statistics.median(v) if v else None for e, v in peaks.items()}
        keys = sorted(set().union(*(set(r[0]) | set(r[1]) for r in rounds)), key=lambda k: (k[2], k[1] > 0, k[3], k[0], k[1]))
        mrows = []
        for k in keys:
            ls = [r[0][k] for r in rounds if k in r[0]]
            ts = [r[1][k] for r in rounds if k in r[1]]
            ratios = [r[1][k][0] / r[0][k][0] for r in rounds if k in r[0] and k in r[1] and r[0][k][0]]
            l = (statistics.median(v[0] for v in ls), ls[0][1] if len(ls) == 1 else None) if ls else None
            t = (statistics.median(v[0] for v in ts), ts[0][1] if len(ts) == 1 else None) if ts else None
            gbs = lambda v: (v / k[2]) * wbytes / 1e9 if (v and k[0] == 0) else None
            r = {"model": stem, "test": test_name(*k), "n_prompt": k[0], "n_gen": k[1], "n_sequences": k[2], "n_depth": k[3],
                 "llama_ts": l[0] if l else None, "llama_stddev": l[1] if l else None,
                 "tokenmill_ts": t[0] if t else None, "tokenmill_stddev": t[1] if t else None,
                 "ratio": statistics.median(ratios) if ratios else None, "round_ratios": ratios,
                 "llama_decode_gbs": gbs(l[0]) if l else None,
                 "tokenmill_decode_gbs": gbs(t[0]) if t else None}
            mrows.append(r)
        rows += mrows
        out["models"][stem] = {"path": model_path, "decode_weight_bytes": wbytes, "rows": mrows, "tokenmill_memory": mem,
                               "tokenmill_kernels": level, "amx_tile_ns": tile_ns, "rounds": len(rounds),
                               "peak_rss_one_sequence": {"llama_bytes": peak["llama"], "tokenmill_bytes": peak["tokenmill"]}}

    f = lambda v, p=1: "-" if v is None else f"{v:.{p}f}"
    if out["membw"]:
        print("memory bandwidth: " + ", ".join(
            f"{m['threads']} thread(s) read {m['read_gbs']:.1f} GB/s, copy {m['copy_gbs']:.1f} GB/s" for m in out["membw"]))
    for stem, m in out["models"].items():
        print(f"{stem}: {m['decode_weight_bytes'] / 1e6:.1f} MB of weights read per decode step")
        if m.get("tokenmill_kernels"):
            t = m.get("amx_tile_ns") or []
            tiles = f" (tile unit {min(t):.1f}-{max(t):.1f} ns a tdpbsud, probed after each bench)" if t else ""
            print(f"{stem}: TokenMill kernel level {m['tokenmill_kernels']}{tiles}")
        mem = m.get("tokenmill_memory")
        MiB = lambda v: f"{v / 2**20:.1f} MiB"
        if mem and mem.get("weights_bytes") is not None:
            print(f"{stem}: TokenMill peak resident {MiB(mem['rss_peak_bytes'])} at 16 sequences; weights "
                  f"{MiB(mem['weights_bytes'])} mapped, KV cache {MiB(mem['kv_bytes'])}")
        if mem and mem.get("other_anon_bytes") is not None:
            copied = f" + copied {MiB(mem['copied_bytes'])}" if mem.get("copied_bytes") is not None else ""
            print(f"{stem}: TokenMill anonymous memory {MiB(mem['rss_anon_bytes'])} = weights repacked "
                  f"{MiB(mem['repacked_bytes'])}{copied} + KV written {MiB(mem['kv_written_bytes'])} + other "
                  f"{MiB(mem['other_anon_bytes'])} (activations, logits, tables, heap)")
        p = m["peak_rss_one_sequence"]
        if p["llama_bytes"] or p["tokenmill_bytes"]:
            ratio = f", ratio {p['tokenmill_bytes'] / p['llama_bytes']:.2f}" if p["llama_bytes"] and p["tokenmill_bytes"] else ""
            print(f"{stem}: peak resident, pp128 + tg64 of one sequence: llama-bench "
                  f"{MiB(p['llama_bytes']) if p['llama_bytes'] else '-'}, TokenMill "
                  f"{MiB(p['tokenmill_bytes']) if p['tokenmill_bytes'] else '-'}{ratio}")
    rounds = max((m["rounds"] for m in out["models"].values()), default=1)
    hdr = ("model", "test", "llama.cpp t/s", "TokenMill t/s", "ratio", "llama GB/s", "TM GB/s")
    if rounds > 1:
        print(f"{rounds} rounds per model, engines alternating: t/s and ratio are the medians of the rounds")
        hdr += ("ratio per round",)
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---" for _ in hdr) + "|")
    for r in rows:
        line = (f"| {r['model']} | {r['test']} | {f(r['llama_ts'], 2)} | {f(r['tokenmill_ts'], 2)} | "
                f"{f(r['ratio'], 2)} | {f(r['llama_decode_gbs'])} | {f(r['tokenmill_decode_gbs'])} |")
        if rounds > 1:
            line += " " + (" ".join(f"{x:.2f}" for x in r["round_ratios"]) or "-") + " |"
        print(line)
    json.dump(out, open(os.path.join(d, "summary.json"), "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
