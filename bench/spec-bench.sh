#!/usr/bin/env bash
# OpenAPI benchmark (BENCHMARKS.md, "Loading and planning a 2,000-operation spec"):
# a generated OpenAPI 3.0 document with 2,000 operations (shared and recursive
# $refs), loaded and planned by `mortar scan --spec FILE --dry-run` (no request
# is sent: the target is a closed loopback port), against prance (PyPI), which
# resolves every $ref and validates the document, in the same run, alternating.
# Needs: the Rust toolchain, python3 with venv, /usr/bin/time. Stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
RUNS="${RUNS:-5}"
OPERATIONS="${OPERATIONS:-2000}"
VENV="${VENV:-$HOME/.cache/mortar-bench-venv}"

[ -x "$VENV/bin/python3" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check prance openapi-spec-validator
cargo build --release -q -p mortar -p mortar-spec --example load_bench
BIN="$CARGO_TARGET_DIR/release"
SPEC=$(mktemp --suffix=.json)
trap 'rm -f "$SPEC" /tmp/spec-bench-time.txt' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "mortar: $("$BIN/mortar" --version); prance $("$VENV/bin/pip" show prance | awk '/^Version/ {print $2}')"
echo
echo "## mortar-spec alone (load, then synthesize one request per operation)"
"$BIN/examples/load_bench" "$OPERATIONS" --emit "$SPEC"
echo
echo "## $RUNS runs each, alternating (wall seconds, peak RSS KiB)"
mortar_walls=(); prance_walls=()
for _ in $(seq 1 "$RUNS"); do
  /usr/bin/time -f '%e %M' -o /tmp/spec-bench-time.txt "$BIN/mortar" scan https://127.0.0.1:9/ --spec "$SPEC" --dry-run >/dev/null
  read -r w r < /tmp/spec-bench-time.txt; mortar_walls+=("$w"); echo "mortar --dry-run  $w s  $r KiB"
  /usr/bin/time -f '%e %M' -o /tmp/spec-bench-time.txt "$VENV/bin/python3" bench/prance_peer.py "$SPEC" >/dev/null
  read -r w r < /tmp/spec-bench-time.txt; prance_walls+=("$w"); echo "prance            $w s  $r KiB"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m=$(median "${mortar_walls[@]}"); p=$(median "${prance_walls[@]}")
echo
echo "median wall: mortar $m s, prance $p s; prance/mortar = $(echo "$p / $m" | bc -l | cut -c1-5)"
