#!/usr/bin/env bash
# The HMAC key search of authentication.jwt-weaknesses, measured beside a
# peer in the same run: Python's hmac module (OpenSSL's SHA-256) trying the
# 10^6 six-digit numbers against the same kind of token, on one core.
# Usage: bench/jwt-bench.sh   (builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p mortar-bench --bin jwt-key-search
target_dir="${CARGO_TARGET_DIR:-target}"
"$target_dir/release/jwt-key-search" --repeat 3
python3 - <<'PY'
import base64, hashlib, hmac, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(b'{"sub":"bench-user","role":"member","iat":1700000000,"exp":1700003600}')
signature = hmac.new(bytes(range(32)), signing_input, hashlib.sha256).digest()
start = time.perf_counter()
for n in range(1_000_000):
    if hmac.new(b"%06d" % n, signing_input, hashlib.sha256).digest() == signature:
        raise SystemExit("found a key that should not exist")
secs = time.perf_counter() - start
print(f"python hmac (1 core): 10^6 candidates in {secs:.3f} s = {1e6 / secs:.0f} candidates/s")
PY
