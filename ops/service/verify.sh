#!/usr/bin/env bash
# Checks ops/service/tokenmill-worker.service with `systemd-analyze verify`, the way systemd would load it
# once installed: in a scratch root that holds the system's unit files and the built tokenmill binary at
# /usr/local/bin/tokenmill (the unit's ExecStart). A deliberately broken copy must fail the same check.
#   bash ops/service/verify.sh [path/to/tokenmill]     (default: .build/debug/tokenmill)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${1:-.build/debug/tokenmill}"
[ -x "$BIN" ] || { echo "ops/service/verify.sh: $BIN not built (swift build first)" >&2; exit 1; }
if ! command -v systemd-analyze >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "ops/service/verify.sh: installing systemd (for systemd-analyze) with apt" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq systemd >/dev/null
fi
units=$(ls -d /usr/lib/systemd/system /lib/systemd/system 2>/dev/null | head -n1)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd"
cp -r "$units" "$root/usr/lib/systemd/system"
ln -f "$BIN" "$root/usr/local/bin/tokenmill" 2>/dev/null || cp "$BIN" "$root/usr/local/bin/tokenmill"
check() { # unit file -> prints systemd-analyze's complaints, returns its status
    cp "$1" "$root/etc/systemd/system/tokenmill-worker.service"
    systemd-analyze verify --root="$root" tokenmill-worker.service 2>&1
}
if ! out=$(check ops/service/tokenmill-worker.service) || [ -n "$out" ]; then
    echo "ops/service/verify.sh: tokenmill-worker.service FAILED systemd-analyze verify:" >&2
    echo "$out" >&2
    exit 1
fi
# The check can fail: a unit with an unknown key and a relative ExecStart is refused.
sed -e 's|^ExecStart=/usr/local/bin/tokenmill|ExecStart=tokenmill-missing|' -e 's|^Restart=on-failure|Restart=sometimes|' \
    ops/service/tokenmill-worker.service > "$root/broken.service"
if bad=$(check "$root/broken.service") && [ -z "$bad" ]; then
    echo "ops/service/verify.sh: a broken unit passed systemd-analyze verify; the check is not working" >&2
    exit 1
fi
echo "ops/service/verify.sh: tokenmill-worker.service passes systemd-analyze verify ($(systemd-analyze --version | head -n1))"
