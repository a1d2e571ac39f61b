#!/usr/bin/env python3
"""mortar against Schemathesis on the lab's 200-operation API (`api-200`).

Usage: schemathesis_vs_mortar.py MORTAR SCHEMATHESIS OUT_DIR

Starts `MORTAR lab`, takes the vulnerable `api-200` target (four planted
flaws), and in the same run scans it with mortar (its lab arguments: the
description, two customers' tokens, `--rate 0`) and runs Schemathesis on the
same description with the first customer's token, every check, default
phases. Prints wall time, requests sent (mortar: its report's count;
Schemathesis: the entries of its HAR report) and which planted flaw each
reported, as a Markdown table. Loopback only; stops the lab at the end.
"""
import json, os, re, subprocess, sys, time

MORTAR, SCHEMATHESIS, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(OUT, exist_ok=True)

# (flaw, operation, the mortar check that names it, words of the Schemathesis
# failure title that name it). A failure of another kind on the same
# operation (e.g. "Undocumented status code" for a 400) does not count.
PLANTED = [
    ("BOLA: another customer's invoice", "GET /api/v1/invoices/{id}", "bola.cross-identity-read", "authoriz"),
    ("authentication not enforced", "GET /api/v1/reports", "authentication.security-not-enforced", "without authentication"),
    ("password hash beyond the schema", "GET /api/v1/users/{id}", "property-authorization.excessive-exposure", "schema"),
    ("500 with a panic backtrace", "GET /api/v1/exports/{id}", "data-exposure.stack-trace", "server error"),
]

lab = subprocess.Popen([MORTAR, "lab"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
target = None
try:
    for line in lab.stdout:
        t = json.loads(line)
        if t["scenario"] == "api-200" and t["variant"] == "vulnerable":
            target = t
            break
    args = target["scan_args"]
    ca = args[args.index("--ca-cert") + 1]
    alice = next(a for a in args if a.startswith("alice=")).split("@", 1)[1]
    token = open(alice).read().strip()

    start = time.monotonic()
    scan = subprocess.run([MORTAR, "scan", target["url"], "--format", "json"] + args, capture_output=True, text=True)
    mortar_secs = time.monotonic() - start
    report = json.loads(scan.stdout)
    json.dump(report, open(os.path.join(OUT, "mortar.json"), "w"), indent=1)
    mortar_found = {(f["endpoint"]["method"] + " " + f["endpoint"]["path"], f["check"]) for f in report["findings"]}
    mortar_found |= {(a["method"] + " " + a["path"], f["check"]) for f in report["findings"] for a in f.get("affected", [])}
    mortar_requests = report["stats"]["requests"]

    base = target["url"].rstrip("/") + "/api/v1"
    start = time.monotonic()
    st = subprocess.run(
        [SCHEMATHESIS, "run", target["spec"], "--url", base, "-H", f"Authorization: {token}", "--tls-verify", ca,
         "--checks", "all", "--report", "har", "--report-dir", OUT, "--no-color"],
        capture_output=True, text=True)
    st_secs = time.monotonic() - start
    open(os.path.join(OUT, "schemathesis.txt"), "w").write(st.stdout + st.stderr)
    har_files = [os.path.join(OUT, f) for f in os.listdir(OUT) if f.startswith("har-") or f.endswith(".har")]
    st_requests = sum(len(json.load(open(f))["log"]["entries"]) for f in har_files)
    # The text report: a section per operation ("____ GET /path ____") listing "- STnnn Title" failures.
    st_failed = {}
    current = None
    for line in (st.stdout + st.stderr).splitlines():
        head = re.match(r"^_+ ([A-Z]+) (/\S*) _+$", line)
        if head:
            current = "%s /api/v1%s" % (head.group(1), head.group(2))
            continue
        failure = re.match(r"^- (ST\d+ .+)$", line)
        if current and failure:
            st_failed.setdefault(current, set()).add(failure.group(1).strip())

    print(f"| tool | wall time (s) | requests | exit |")
    print(f"|---|---:|---:|---:|")
    print(f"| mortar | {mortar_secs:.1f} | {mortar_requests} | {scan.returncode} |")
    print(f"| Schemathesis | {st_secs:.1f} | {st_requests} | {st.returncode} |")
    print()
    print("| planted flaw | operation | mortar | Schemathesis |")
    print("|---|---|---|---|")
    for flaw, op, check, words in PLANTED:
        m = "yes (`%s`)" % check if (op, check) in mortar_found else "no"
        got = sorted(st_failed.get(op, ()))
        hit = [f for f in got if words in f.lower()]
        s = "yes (%s)" % "; ".join(hit) if hit else "no" + (" (only: %s)" % "; ".join(got) if got else "")
        print(f"| {flaw} | `{op}` | {m} | {s} |")
    other = sorted(set(st_failed) - {p[1] for p in PLANTED})
    print()
    kinds = {}
    for op in other:
        for f in st_failed[op]:
            kinds[f] = kinds.get(f, 0) + 1
    print(f"Schemathesis failures on the {len(other)} other operations (operations per kind): "
          + "; ".join(f"{k}: {n}" for k, n in sorted(kinds.items())))
    print(f"mortar findings: {len(report['findings'])} ({', '.join(sorted({f['check'] for f in report['findings']}))})")
finally:
    lab.terminate()
    lab.wait(timeout=10)
