"""Regenerates chat_expected.json: each template in this folder rendered by Jinja2 the way Hugging Face
transformers does (sandboxed, trim_blocks, lstrip_blocks), for a few conversations.

Run: python3 make_chat_expectations.py   (needs Jinja2)
"""
import json
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES = [
    "Qwen-Qwen2.5-7B-Instruct.jinja",
    "Qwen-Qwen2-vocab-fixture.jinja",
    "HuggingFaceTB-SmolLM2-135M-Instruct.jinja",
    "meta-llama-Meta-Llama-3-8B-Instruct.jinja",
    "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
]
CONVERSATIONS = [
    [{"role": "user", "content": "What is 2+3?"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "  Bye  \n"}],
    [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "<think>\nsome reasoning\n</think>\n\nA1"},
     {"role": "user", "content": "Q2 ünï 🚀"}],
]

def raise_exception(msg):
    raise Exception(msg)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
env.globals["raise_exception"] = raise_exception
cases = []
for name in TEMPLATES:
    tmpl = env.from_string(open(name, encoding="utf-8").read())
    for ci, conv in enumerate(CONVERSATIONS):
        for gen in (True, False):
            # enable_thinking only matters for llama.cpp's edited R1-Distill-Qwen template; True keeps the
            # official behaviour (generation prompt ends with "<think>\n").
            text = tmpl.render(messages=conv, add_generation_prompt=gen, bos_token="<BOS>", eos_token="<EOS>",
                               enable_thinking=True)
            cases.append({"template": name, "conversation": ci, "add_generation_prompt": gen, "expected": text})
json.dump({"conversations": CONVERSATIONS, "cases": cases}, open("chat_expected.json", "w", encoding="utf-8"),
          ensure_ascii=False, indent=1)
print(len(cases), "cases")
