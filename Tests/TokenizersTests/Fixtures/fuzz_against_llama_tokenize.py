"""Differential check of `tokenmill tokenize` against llama.cpp's `llama-tokenize` on random texts built from
awkward pieces (scripts, emoji, odd whitespace, digits, contractions, special-token texts), with and without
special-token parsing. Prints each mismatch and a count per model.

Run: python3 fuzz_against_llama_tokenize.py LLAMA_TOKENIZE TOKENMILL SEED [MODEL.gguf ...]
(models default to the vocab fixtures in this folder)
"""
import os, random, subprocess, sys

LT, TM, SEED = sys.argv[1], sys.argv[2], int(sys.argv[3])
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = sys.argv[4:] or [os.path.join(HERE, f"ggml-vocab-{m}.gguf")
                          for m in ["qwen2", "llama-bpe", "llama-spm", "gpt-2", "deepseek-llm"]]
PIECES = ["Hello", "world", " the", "'s", "'S", "'ll", "'Re", "don't", "I'm", " ", "  ", "   ", "\t", "\n", "\r\n",
          "\n\n", " \n", "\u00a0", "\u3000", "\u2003", "123", "4567890", "3.14", "1,000", "٣٤٥", "½", "Ⅻ", "😀",
          "🚀🔥", "👨‍👩‍👧", "é", "ü", "ß", "Ω", "ж", "Привет", "中文", "日本語", "한국어", "ไทย", "עברית", "مرحبا",
          "ø", "ö", "Ã", "!", "?!", ".", "...", "—", "“quoted”", "(x)", "[1]", "{a:b}", "<tag>", "</s>", "<s>",
          "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "<｜User｜>", "<｜begin▁of▁sentence｜>",
          "```python\n", "def f(x):\n    return x*2\n", "$", "+", "=", "^", "~", "|", "`", "\\", "@", "#", "%", "&",
          "*", "_", "-", "/", "\u0301", "a\u0301", "\u200b", "\ufeff", "\x00", "\x07", "\x1f", "\x7f", "\x85",
          "𝔘𝔫𝔦", "𐐀", "\U000E0041", "ǅ", "ʰ", "ﬁ", "Ａ", "ｚ", "！", "，", "、", "。"]
rng = random.Random(SEED)
texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 60))) for _ in range(40)]
tmp = f"/tmp/tokenmill-fuzz-{os.getpid()}.txt"
for m in MODELS:
    bad = 0
    for t in texts:
        open(tmp, "w", encoding="utf-8").write(t)
        for extra in ([], ["--no-parse-special"]):
            a = subprocess.run([LT, "-m", m, "-f", tmp, "--ids", "--log-disable", "--no-escape"] + extra,
                               capture_output=True).stdout.decode().strip().splitlines()
            a = a[-1] if a else "?"
            b = subprocess.run([TM, "tokenize", "-m", m, "--file", tmp, "--ids"] + extra,
                               capture_output=True).stdout.decode().strip()
            if a != b:
                bad += 1
                print("MISMATCH", os.path.basename(m), extra, repr(t), "\n llama:", a, "\n ours: ", b)
    print(os.path.basename(m), "mismatches:", bad, flush=True)
os.remove(tmp)
