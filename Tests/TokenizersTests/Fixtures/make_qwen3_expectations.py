"""Regenerates qwen3_expected.json: Qwen3's template (Qwen-Qwen3-0.6B.jinja) rendered by Jinja2 the way
Hugging Face transformers does (sandboxed, trim_blocks, lstrip_blocks), for conversations with and
without thinking, with and without the generation prompt, enable_thinking true and false.
The same strings from llama.cpp's own Jinja engine: see README.md (check_qwen3_with_llama_server.sh).

Run: python3 make_qwen3_expectations.py   (needs Jinja2)
"""
import json
from jinja2.sandbox import ImmutableSandboxedEnvironment

CONVERSATIONS = [
    # Thinking: a system prompt with the soft switch, an earlier answer with its reasoning, a new question.
    [{"role": "system", "content": "You are a careful solver. /think"},
     {"role": "user", "content": "What is 2+3?"},
     {"role": "assistant", "content": "<think>\nAdd the two numbers.\n</think>\n\n2+3 = 5."},
     {"role": "user", "content": "And 4+4? /think"}],
    # Non-thinking: the soft switch off, an earlier answer with an empty reasoning block.
    [{"role": "user", "content": "Name a prime. /no_think"},
     {"role": "assistant", "content": "<think>\n\n</think>\n\n7"},
     {"role": "user", "content": "Another one ünï 🚀 /no_think"}],
    # Answers after the last question keep their reasoning (the last one always, with an empty block).
    [{"role": "user", "content": "Q1"},
     {"role": "assistant", "content": "\n<think>\n\nfirst\nthought\n\n</think>\n\n\nA1"},
     {"role": "system", "content": "mid-conversation system"},
     {"role": "user", "content": "<tool_response>\nok\n</tool_response>"},
     {"role": "assistant", "content": "<think>r2</think>A2"},
     {"role": "assistant", "content": "plain A3"}],
    [{"role": "user", "content": "only a question"}],
]

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
tmpl = env.from_string(open("Qwen-Qwen3-0.6B.jinja", encoding="utf-8").read())
cases = []
for ci, conv in enumerate(CONVERSATIONS):
    for gen in (True, False):
        for thinking in (True, False):
            text = tmpl.render(messages=conv, add_generation_prompt=gen, enable_thinking=thinking)
            cases.append({"conversation": ci, "add_generation_prompt": gen, "enable_thinking": thinking, "expected": text})
json.dump({"conversations": CONVERSATIONS, "cases": cases}, open("qwen3_expected.json", "w", encoding="utf-8"),
          ensure_ascii=False, indent=1)
print(len(cases), "cases")
