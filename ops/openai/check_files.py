#!/usr/bin/env python3
"""Validates TokenMill's OpenAI Batch files with the official `openai` client's own types.

    python check_files.py --output OUT.jsonl [--errors ERR.jsonl] [--status STATUS.json]

Every output line's response body must parse as openai.types.chat.ChatCompletion (or
openai.types.Completion for text_completion bodies), every error line must carry an error with
code and message, and the status object must parse as openai.types.Batch. Prints one line per
file and exits 1 on the first line that does not parse, naming it.
"""
import argparse
import json
import sys

from openai.types import Batch, Completion
from openai.types.chat import ChatCompletion


def fail(msg):
    print(f"check_files: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--output", required=True)
    ap.add_argument("--errors")
    ap.add_argument("--status")
    a = ap.parse_args()
    n = 0
    with open(a.output, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            rec = json.loads(line)
            for key in ("id", "custom_id", "response"):
                if key not in rec:
                    fail(f"{a.output}:{i}: no '{key}'")
            resp = rec["response"]
            if not isinstance(resp.get("status_code"), int) or not isinstance(resp.get("request_id"), str):
                fail(f"{a.output}:{i}: response needs an integer status_code and a request_id")
            body = resp["body"]
            try:
                if body.get("object") == "chat.completion":
                    c = ChatCompletion.model_validate(body)
                    assert c.usage is not None and c.usage.completion_tokens_details is not None
                    assert c.usage.total_tokens == c.usage.prompt_tokens + c.usage.completion_tokens
                elif body.get("object") == "text_completion":
                    c = Completion.model_validate(body)
                    assert c.usage is not None
                else:
                    fail(f"{a.output}:{i}: unknown body object {body.get('object')!r}")
            except Exception as e:  # pydantic.ValidationError or a failed assertion
                fail(f"{a.output}:{i}: {type(e).__name__}: {e}")
            n += 1
    print(f"check_files: {n} output line(s) parse as openai ChatCompletion/Completion")
    if a.errors:
        m = 0
        with open(a.errors, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                rec = json.loads(line)
                err = rec.get("error") or {}
                if rec.get("response") is not None or not isinstance(err.get("code"), str) or not isinstance(err.get("message"), str):
                    fail(f"{a.errors}:{i}: an error line needs response null and error.code/error.message strings")
                m += 1
        print(f"check_files: {m} error line(s) well-formed")
    if a.status:
        with open(a.status, encoding="utf-8") as f:
            try:
                b = Batch.model_validate(json.load(f))
            except Exception as e:
                fail(f"{a.status}: {type(e).__name__}: {e}")
        print(f"check_files: status parses as openai Batch ({b.status}, {b.request_counts})")


if __name__ == "__main__":
    main()
