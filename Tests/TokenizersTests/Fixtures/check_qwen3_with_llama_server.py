"""Checks qwen3_expected.json against llama.cpp's own Jinja engine: starts llama-server on a tiny qwen3
model (it carries Qwen3's template; `tokenmill dev-tiny-model --arch qwen3`) with
--no-prefill-assistant (so a trailing assistant message is rendered, not continued) and asks
/apply-template for every case, add_generation_prompt and enable_thinking (chat_template_kwargs) as
the case has them. Not run by the tests (needs llama.cpp).

Run: python3 check_qwen3_with_llama_server.py LLAMA_SERVER TINY_QWEN3.gguf [PORT]
"""
import json, subprocess, sys, time, urllib.request

server, model = sys.argv[1], sys.argv[2]
port = int(sys.argv[3]) if len(sys.argv) > 3 else 18431
proc = subprocess.Popen([server, "-m", model, "--port", str(port), "--jinja", "-c", "256", "-t", "1",
                         "--no-prefill-assistant"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            break
        except Exception:
            time.sleep(0.5)
    data = json.load(open("qwen3_expected.json", encoding="utf-8"))
    checked = failed = 0
    for c in data["cases"]:
        conv = data["conversations"][c["conversation"]]
        body = json.dumps({"messages": conv, "add_generation_prompt": c["add_generation_prompt"],
                           "chat_template_kwargs": {"enable_thinking": c["enable_thinking"]}}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/apply-template", data=body,
                                     headers={"Content-Type": "application/json"})
        got = json.load(urllib.request.urlopen(req))["prompt"]
        checked += 1
        if got != c["expected"]:
            failed += 1
            print(f"DIFFERS: conversation {c['conversation']} enable_thinking={c['enable_thinking']}\n"
                  f"  llama.cpp: {got!r}\n  expected:  {c['expected']!r}")
    print(f"{checked} cases checked against llama-server /apply-template, {failed} differ")
    sys.exit(1 if failed or not checked else 0)
finally:
    proc.terminate()
    proc.wait()
