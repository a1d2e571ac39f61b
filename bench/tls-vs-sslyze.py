#!/usr/bin/env python3
"""mortar vs sslyze on the lab's TLS targets (BENCHMARKS.md, "TLS verdicts").

Client-auth verdict (disabled / optional / required) and accepted TLS versions
(1.0-1.3), compared with the lab's ground truth, plus the summed wall time of
one scan per target per tool, run one after the other in this same run.

  mortar:  mortar scan URL SCAN_ARGS --checks mtls.optional-client-auth,encryption.weak-tls --format json
  sslyze:  sslyze --certinfo --certinfo_ca_file CA --tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3 --json_out F HOST:PORT

Targets: every mtls-* and tls-early-data lab target (rustls: TLS 1.2/1.3), plus
two `openssl s_server` fixtures made here (legacy: TLS 1.0+ with every suite;
modern: TLS 1.2+ ECDHE AES-GCM). Loopback only; everything stops by itself.

Usage: MORTAR=path/to/mortar SSLYZE=path/to/sslyze bench/tls-vs-sslyze.py
"""
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time

MORTAR = os.environ.get("MORTAR", "target/debug/mortar")
SSLYZE = os.environ.get("SSLYZE", "sslyze")
RUSTLS_VERSIONS = {"1.2", "1.3"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def mortar_verdicts(url, args):
    cmd = [MORTAR, "scan", url, *args, "--checks", "mtls.optional-client-auth,encryption.weak-tls", "--format", "json"]
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - t0
    report = json.loads(out.stdout)
    reasons = {c["check"]: c.get("reason") or "" for c in report["coverage"]["checks"]}
    auth = reasons.get("mtls.optional-client-auth", "")
    if "certificate required" in auth:
        client_auth = "required"
    elif "certificate optional" in auth:
        client_auth = "optional"
    elif "does not ask" in auth:
        client_auth = "disabled"
    else:
        client_auth = f"? ({auth[:60]})"
    posture = reasons.get("encryption.weak-tls", "")
    versions = set()
    for part in posture.split("; "):
        label, _, rest = part.partition(": ")
        if label.startswith("TLS 1.") and not rest.startswith("refused") and not rest.startswith("answered"):
            versions.add(label[4:])
    return client_auth, versions, elapsed


def sslyze_verdicts(host_port, ca, workdir):
    out_file = os.path.join(workdir, "sslyze.json")
    cmd = [SSLYZE, "--certinfo", "--certinfo_ca_file", ca, "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3",
           "--json_out", out_file, "--quiet", host_port]
    t0 = time.monotonic()
    subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - t0
    with open(out_file) as f:
        data = json.load(f)
    result = data["server_scan_results"][0]
    conn = result.get("connectivity_result") or {}
    client_auth = (conn.get("client_auth_requirement") or "?").lower()
    versions = set()
    scan = result.get("scan_result") or {}
    for key, label in [("tls_1_0_cipher_suites", "1.0"), ("tls_1_1_cipher_suites", "1.1"),
                       ("tls_1_2_cipher_suites", "1.2"), ("tls_1_3_cipher_suites", "1.3")]:
        attempt = scan.get(key) or {}
        res = attempt.get("result") or {}
        if res.get("accepted_cipher_suites"):
            versions.add(label)
    return client_auth, versions, elapsed


def main():
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, kernel {platform.release()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"mortar: {MORTAR}; sslyze: {subprocess.run([SSLYZE, '--help'], capture_output=True, text=True).returncode == 0 and SSLYZE}")
    lab = subprocess.Popen([MORTAR, "lab", "--max-lifetime", "900s"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    targets = []
    try:
        for line in lab.stdout:
            t = json.loads(line)
            if t["scenario"].startswith("mtls-") or t["scenario"] == "tls-early-data":
                truth_auth = "disabled"
                if t["scenario"].startswith("mtls-"):
                    truth_auth = "optional" if (t["scenario"] == "mtls-optional" and t["variant"] == "vulnerable") else "required"
                targets.append((f"{t['scenario']}/{t['variant']}", t["url"], t["scan_args"], t["scan_args"][1], truth_auth, RUSTLS_VERSIONS))
            if t["scenario"] == "tls-early-data" and t["variant"] == "fixed":
                break
        work = tempfile.mkdtemp(prefix="tls-bench-")
        key, cert = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], check=True, capture_output=True)
        servers = []
        for name, extra, versions in [
            ("openssl-legacy", ["-min_protocol", "TLSv1", "-cipher", "ALL:@SECLEVEL=0"], {"1.0", "1.1", "1.2", "1.3"}),
            ("openssl-modern", ["-min_protocol", "TLSv1.2", "-cipher", "ECDHE+AESGCM"], {"1.2", "1.3"}),
        ]:
            port = free_port()
            servers.append(subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", cert, "-key", key,
                                             "-www", "-quiet", *extra], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
            wait_port(port)
            targets.append((name, f"https://127.0.0.1:{port}/", ["--ca-cert", cert], cert, "disabled", versions))
        rows = []
        totals = {"mortar": [0, 0, 0.0], "sslyze": [0, 0, 0.0]}
        for name, url, args, ca, truth_auth, truth_versions in targets:
            host_port = url.split("/")[2]
            m = mortar_verdicts(url, args)
            s = sslyze_verdicts(host_port, ca, work)
            for tool, (auth, versions, elapsed) in [("mortar", m), ("sslyze", s)]:
                totals[tool][0] += auth == truth_auth
                totals[tool][1] += versions == truth_versions
                totals[tool][2] += elapsed
            rows.append((name, truth_auth, ",".join(sorted(truth_versions)), m, s))
        print(f"{'target':34} {'truth auth':10} {'truth versions':16} | {'mortar auth':11} {'versions':16} {'s':>5} | {'sslyze auth':11} {'versions':16} {'s':>5}")
        for name, ta, tv, m, s in rows:
            print(f"{name:34} {ta:10} {tv:16} | {m[0]:11} {','.join(sorted(m[1])):16} {m[2]:5.2f} | {s[0]:11} {','.join(sorted(s[1])):16} {s[2]:5.2f}")
        n = len(targets)
        for tool, (auth_ok, ver_ok, wall) in totals.items():
            print(f"{tool}: client auth {auth_ok}/{n} agree, versions {ver_ok}/{n} agree, wall time {wall:.1f} s")
        ratio = totals["sslyze"][2] / totals["mortar"][2]
        print(f"wall-time ratio sslyze/mortar: {ratio:.2f}x")
        for s in servers:
            s.kill()
    finally:
        lab.kill()


if __name__ == "__main__":
    sys.exit(main())
