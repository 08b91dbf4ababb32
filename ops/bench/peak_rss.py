#!/usr/bin/env python3
"""Runs a command and records its peak resident set size.

usage: peak_rss.py OUT.json CMD [ARG...]

The command's stdin, stdout and stderr are the caller's; its exit status is this script's. OUT.json
gets {"peak_rss_bytes": N, "rc": RC} from the kernel's accounting of that child (wait4's ru_maxrss),
so both engines of a benchmark are measured the same way, whatever they print themselves.
"""
import json
import os
import subprocess
import sys


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out, cmd = sys.argv[1], sys.argv[2:]
    try:
        child = subprocess.Popen(cmd)  # vfork/posix_spawn: this interpreter's pages are not the child's
    except OSError as err:
        print(f"peak_rss.py: cannot run {cmd[0]}: {err}", file=sys.stderr)
        return 127
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = rc = os.waitstatus_to_exitcode(status)
    with open(out, "w") as f:
        json.dump({"peak_rss_bytes": usage.ru_maxrss * 1024, "rc": rc}, f)
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    sys.exit(main())
