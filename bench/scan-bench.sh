#!/usr/bin/env bash
# Scan benchmark (BENCHMARKS.md, "Scans"):
#  1. wall time and peak RSS of `mortar scan` on every lab target: the scanner
#     process alone, the lab running in another process;
#  2. requests per second through the checks' request path (engine + evidence
#     capture, unthrottled) against wrk on the same target, same protocol
#     (HTTP/1.1 over TLS), keep-alive and concurrency, as a ratio.
# Needs: the Rust toolchain, python3, /usr/bin/time and wrk (apt-get install wrk time).
# Sends traffic to 127.0.0.1 only; stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
CONCURRENCY="${CONCURRENCY:-8}"
DURATION="${DURATION:-10}"
RUNS="${RUNS:-5}"

for tool in python3 /usr/bin/time wrk; do
  command -v "$tool" >/dev/null || { echo "scan-bench: $tool is missing (apt-get install time wrk python3)" >&2; exit 2; }
done

cargo build --release -q -p mortar -p mortar-bench
BIN="$CARGO_TARGET_DIR/release"
LAB_OUT=$(mktemp)
LAB_ERR=$(mktemp)
"$BIN/mortar" lab --max-lifetime 15m >"$LAB_OUT" 2>"$LAB_ERR" &
LAB_PID=$!
trap 'kill $LAB_PID 2>/dev/null || true; rm -f "$LAB_OUT" "$LAB_ERR"' EXIT
for _ in $(seq 1 100); do [ -s "$LAB_OUT" ] && grep -q bench "$LAB_ERR" && break; sleep 0.1; done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d" " -f1-3 /proc/loadavg)"
echo "mortar: $("$BIN/mortar" --version)"
echo
echo "## mortar scan per lab target (median of $RUNS runs; wall seconds, peak RSS MiB)"
printf '%-40s %10s %10s %8s\n' target wall_s rss_mib findings
python3 - "$LAB_OUT" <<'PY' > /tmp/scan-bench-targets.txt
import json, shlex, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    print(f"{t['scenario']}/{t['variant']}\t{t['url']}\t{shlex.join(t['scan_args'])}")
PY
while IFS=$'\t' read -r name url args; do
  walls=(); rss=()
  for _ in $(seq 1 "$RUNS"); do
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %M' -o /tmp/scan-bench-time.txt "$BIN/mortar" scan "$url" $args --format json --output /tmp/scan-bench-report.json || true
    read -r w r < /tmp/scan-bench-time.txt
    walls+=("$w"); rss+=("$r")
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  findings=$(python3 -c 'import json;print(len(json.load(open("/tmp/scan-bench-report.json"))["findings"]))')
  printf '%-40s %10s %10.1f %8s\n' "$name" "$(median "${walls[@]}")" "$(echo "$(median "${rss[@]}") / 1024" | bc -l)" "$findings"
done < /tmp/scan-bench-targets.txt

TARGET=$(python3 -c 'import json,sys; ts=[json.loads(l) for l in open(sys.argv[1])]; t=[t for t in ts if t["scenario"]=="cors-reflection" and t["variant"]=="fixed"][0]; print(t["url"])' "$LAB_OUT")
CA=$(python3 -c 'import json,sys; t=json.loads(open(sys.argv[1]).readline()); a=t["scan_args"]; print(a[a.index("--ca-cert")+1])' "$LAB_OUT")
echo
echo "## Throughput on $TARGET (HTTP/1.1 over TLS, keep-alive, concurrency $CONCURRENCY, ${DURATION}s)"
MORTAR_RPS=$("$BIN/scan-throughput" --url "$TARGET" --ca-cert "$CA" --concurrency "$CONCURRENCY" --seconds "$DURATION" | awk '/requests\/s/ {print $1}')
WRK_RPS=$(wrk -t2 -c"$CONCURRENCY" -d"${DURATION}s" "$TARGET" | awk '/Requests\/sec/ {print $2}')
echo "mortar (engine + evidence capture): $MORTAR_RPS requests/s"
echo "wrk -t2 -c$CONCURRENCY:                $WRK_RPS requests/s"
echo "ratio mortar/wrk: $(echo "$MORTAR_RPS / $WRK_RPS" | bc -l | cut -c1-5)"
