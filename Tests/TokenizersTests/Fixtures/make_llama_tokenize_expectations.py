"""Regenerates mixed_text.txt and mixed_text_ids.json: a ~16 KB text mixing prose, code, many scripts, emoji,
odd whitespace and special-token texts, tokenized by llama.cpp's llama-tokenize for every vocab fixture
(default options: BOS if the model adds it, special tokens parsed).

Run: python3 make_llama_tokenize_expectations.py PATH/TO/llama-tokenize
"""
import json, random, subprocess, sys

LT = sys.argv[1]
VOCABS = ["qwen2", "llama-bpe", "llama-spm", "gpt-2", "deepseek-llm"]
PIECES = ["Hello", "world", " the", "'s", "'S", "'ll", "'Re", "don't", "I'm", " ", "  ", "   ", "\t", "\n", "\r\n",
          "\n\n", " \n", "\u00a0", "\u3000", "\u2003", "123", "4567890", "3.14", "1,000", "٣٤٥", "½", "Ⅻ", "😀",
          "🚀🔥", "👨‍👩‍👧", "é", "ü", "ß", "Ω", "ж", "Привет", "中文", "日本語", "한국어", "ไทย", "עברית", "مرحبا",
          "ø", "ö", "Ã", "!", "?!", ".", "...", "—", "“quoted”", "(x)", "[1]", "{a:b}", "<tag>", "</s>", "<s>",
          "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<｜User｜>", "<|eot_id|>",
          "<｜begin▁of▁sentence｜>", "```python\n", "def f(x):\n    return x*2\n", "$", "+", "=", "^", "~", "|",
          "`", "\\", "@", "#", "%", "&", "*", "_", "-", "/", "\u0301", "a\u0301", "\u200b", "\ufeff", "\x07",
          "\x1f", "\x7f", "\x85", "𝔘𝔫𝔦", "𐐀", "ǅ", "ʰ", "ﬁ", "Ａ", "ｚ", "！", "，", "、", "。",
          " The quick brown fox jumps over the lazy dog.", " x² + y² = z²", " 12345678901234567890"]
rng = random.Random(20261127)
text = "".join(rng.choice(PIECES) for _ in range(2600))
open("mixed_text.txt", "w", encoding="utf-8").write(text)
out = {}
for v in VOCABS:
    res = subprocess.run([LT, "-m", f"ggml-vocab-{v}.gguf", "-f", "mixed_text.txt", "--ids", "--log-disable",
                          "--no-escape"], capture_output=True, check=True)
    out[v] = json.loads(res.stdout.decode().strip().splitlines()[-1])
json.dump(out, open("mixed_text_ids.json", "w"), separators=(",", ":"))
print(len(text.encode()), {k: len(v) for k, v in out.items()})
