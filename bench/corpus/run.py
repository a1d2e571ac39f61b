#!/usr/bin/env python3
"""Score mortar on the training corpus (bench/corpus/targets.toml).

The targets must ALREADY be running (each set up from its own repository, per its own README;
nothing here installs or starts them). For each one given with --target this script

  1. does the black-box set-up through the API itself (registers users, logs them in, creates a
     few objects), exactly as targets.toml's `setup` line says,
  2. writes each identity's header value to a private temporary directory (never printed),
  3. runs `mortar scan URL --spec ... --identity NAME=HEADER:@FILE ... --profile P --format json`
     bounded by --max-time and --max-requests,
  4. scores the JSON report against the target's planted flaws: a flaw is found when a finding of
     one of its checks is on the flaw's endpoint (method and path template, or one of the
     finding's `affected` endpoints); every medium-or-higher finding that proves no flaw is listed
     as a false-positive candidate (findings targets.toml calls incidental are listed apart),
  5. prints Markdown tables (and writes the reports and a JSON summary under --out).

Python 3.11+ standard library only. Traffic goes only to the URLs given (loopback in the corpus).

  python3 bench/corpus/run.py --mortar /path/to/mortar \\
      --target vampi=http://127.0.0.1:5002 --target vampi:secure=http://127.0.0.1:5001 \\
      --target restaurant=http://127.0.0.1:8091 --profile standard --profile active
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}


# ------------------------------------------------------------------------------------ HTTP


class Http:
    """A tiny JSON client bound to one base URL (no proxies, no redirects followed)."""

    def __init__(self, base: str, timeout: float = 20.0):
        self.base = base.rstrip("/")
        self.timeout = timeout
        handlers = [urllib.request.ProxyHandler({}), _NoRedirect()]
        self.opener = urllib.request.build_opener(*handlers)

    def call(self, method: str, path: str, body=None, headers=None, form=None):
        url = self.base + path
        data = None
        hdrs = {"Accept": "application/json"}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, parsed, raw

    def ok(self, method: str, path: str, **kw):
        status, parsed, raw = self.call(method, path, **kw)
        if status >= 400:
            raise SetupError(f"{method} {path} answered {status}: {raw[:200]!r}")
        return parsed


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class SetupError(Exception):
    pass


# ------------------------------------------------------------------------------ set-ups
# Each returns {identity name: header value}. Names and passwords are fresh per run (a nonce),
# so a target whose state persists (or that an active scan changed) can be set up again.


def setup_vampi(http: Http, nonce: str) -> dict[str, str]:
    for attempt in range(5):   # /createdb draws random book titles and now and then collides (500)
        status, _, raw = http.call("GET", "/createdb")
        if status < 400:
            break
    else:
        raise SetupError(f"GET /createdb answered {status}: {raw[:200]!r}")
    out = {}
    for who in ("alice", "bob"):
        user = f"{who}{nonce}"
        pw = f"Pw-{who}-{nonce}"
        http.ok("POST", "/users/v1/register",
                body={"username": user, "password": pw, "email": f"{user}@example.com"})
        token = http.ok("POST", "/users/v1/login", body={"username": user, "password": pw})["auth_token"]
        out[who] = f"Bearer {token}"
        http.ok("POST", "/books/v1", headers={"Authorization": out[who]},
                body={"book_title": f"{who}-book-{nonce}", "secret": f"{who}-secret-{nonce}"})
    return out


def setup_restaurant(http: Http, nonce: str) -> dict[str, str]:
    def register_login(who: str, phone: str) -> str:
        user = f"{who}{nonce}"
        pw = f"Pw-{who}-{nonce}"
        http.ok("POST", "/register", body={"username": user, "password": pw, "phone_number": phone,
                                           "first_name": who.title(), "last_name": "Corpus"})
        tok = http.ok("POST", "/token", form={"username": user, "password": pw})["access_token"]
        return f"Bearer {tok}"

    num = int(nonce[:6], 16) % 10**6
    out = {}
    menu = http.ok("GET", "/menu")
    item = menu[-1]["id"]   # orders pin their items (DELETE answers 409): keep the first ids deletable
    for i, who in enumerate(("alice", "bob")):
        out[who] = register_login(who, f"555-{num:06d}-{i}")
        http.ok("POST", "/orders", headers={"Authorization": out[who]},
                body={"delivery_address": f"{i + 1} Corpus Street", "phone_number": f"555-{num:06d}-{i}",
                      "items": [{"menu_item_id": item, "quantity": 1}]})
    # The employee identity: carol, made Employee through PUT /users/update_role (level 3).
    carol = register_login("carol", f"555-{num:06d}-2")
    http.ok("PUT", "/users/update_role", headers={"Authorization": carol},
            body={"username": f"carol{nonce}", "role": "Employee"})
    out["employee"] = carol
    # The chef identity: the password GET /admin/reset-chef-password gives a loopback caller.
    status, parsed, _ = http.call("GET", "/admin/reset-chef-password")
    if status == 200 and parsed and parsed.get("password"):
        tok = http.ok("POST", "/token", form={"username": "chef", "password": parsed["password"]})
        out["chef"] = f"Bearer {tok['access_token']}"
    return out


def setup_vuln_node_express(http: Http, nonce: str) -> dict[str, str]:
    out, ids = {}, {}
    for who in ("alice", "bob"):
        email = f"{who}{nonce}@example.com"
        pw = f"Pw-{who}-{nonce}"
        ids[who] = http.ok("POST", "/v1/user/", body={"name": f"{who}{nonce}", "email": email, "password": pw,
                                                      "address": f"{who} street"})["id"]
        tok = http.ok("POST", "/v1/user/token", body={"email": email, "password": pw})["jwt"]
        out[who] = f"Bearer {tok}"
    beer = http.ok("POST", "/v1/admin/new-beer/", body={"name": f"Corpus beer {nonce}", "price": 12})
    # alice loves the beer (POST /v1/love/{beer_id}?id=), so GET /v1/order lists a user with it
    http.ok("POST", f"/v1/love/{beer['id']}?id={ids['alice']}", headers={"Authorization": out["alice"]})
    return out


def setup_capital(http: Http, nonce: str) -> dict[str, str]:
    out = {}
    for who in ("alice", "bob"):
        user = f"{who}{nonce}"
        body = {"user": {"username": user, "email": f"{user}@example.com", "password": f"Pw-{who}-{nonce}"}}
        tok = http.ok("POST", "/api/users", body=body)["user"]["token"]
        out[who] = f"Token {tok}"
        art = http.ok("POST", "/api/articles", headers={"Authorization": out[who]},
                      body={"article": {"title": f"{who} article {nonce}", "description": f"by {who}",
                                        "body": f"{who}'s text", "tagList": ["corpus"]}})
        if who == "alice":
            slug = art["article"]["slug"]
            http.ok("POST", f"/api/articles/{slug}/comments", headers={"Authorization": out[who]},
                    body={"comment": {"body": f"alice's comment {nonce}"}})
    return out


SETUPS = {
    "vampi": setup_vampi,
    "restaurant": setup_restaurant,
    "vuln-node-express": setup_vuln_node_express,
    "capital": setup_capital,
}


# ------------------------------------------------------------------------------ scoring


def norm_path(path: str | None) -> str | None:
    """A path template with every {param} as {} (parameter names differ between spec and code)."""
    if path is None:
        return None
    return re.sub(r"\{[^}]*\}", "{}", path)


def endpoints_of(finding: dict) -> list[tuple[str | None, str | None]]:
    eps = []
    ep = finding.get("endpoint")
    if ep:
        eps.append((ep.get("method"), ep.get("path")))
    for a in finding.get("affected") or []:
        eps.append((a.get("method"), a.get("path")))
    return eps


def matches(flaw_or_rule: dict, finding: dict) -> bool:
    checks = flaw_or_rule.get("checks") or [flaw_or_rule.get("check")]
    if finding.get("check") not in checks:
        return False
    method = flaw_or_rule.get("method", "*")
    path = flaw_or_rule.get("path", "*")
    if path == "*" and method == "*":
        return True
    for m, p in endpoints_of(finding):
        if method not in ("*", (m or "").upper()):
            continue
        if path == "*" or norm_path(p) == norm_path(path):
            return True
    return False


def score(target: dict, variant: str, report: dict, known_checks: set[str]) -> dict:
    findings = report.get("findings") or []
    flaws = [f for f in target.get("flaw", []) if variant in f.get("variants", ["vulnerable"])]
    rows = []
    proving = set()
    for flaw in flaws:
        hits = [i for i, f in enumerate(findings) if matches(flaw, f)]
        proving.update(hits)
        has_check = any(c in known_checks for c in flaw["checks"])
        rows.append({
            "id": flaw["id"], "class": flaw["class"], "method": flaw["method"], "path": flaw["path"],
            "blackbox": flaw.get("blackbox", True), "tier": flaw.get("tier", "docs"),
            "found": bool(hits), "by": sorted({findings[i]["check"] for i in hits}),
            "has_check": has_check,
        })
    unmatched, incidental = [], []
    for i, f in enumerate(findings):
        if i in proving or SEVERITY_RANK.get(f.get("severity"), 0) < SEVERITY_RANK["medium"]:
            continue
        ep = f.get("endpoint") or {}
        item = {"severity": f["severity"], "check": f["check"], "method": ep.get("method"),
                "path": ep.get("path"), "title": f.get("title"), "confidence": f.get("confidence")}
        rule = next((r for r in target.get("incidental", []) if matches(r, f)), None)
        if rule:
            item["reason"] = rule["reason"]
            incidental.append(item)
        else:
            unmatched.append(item)
    return {"flaws": rows, "false_positive_candidates": unmatched, "incidental": incidental}


# ------------------------------------------------------------------------------ running


def run_scan(args, target: dict, variant: str, url: str, profile: str, outdir: Path) -> dict:
    name = target["name"]
    http = Http(url)
    nonce = secrets.token_hex(4)
    result = {"target": name, "variant": variant, "url": url, "profile": profile}
    if not wait_ready(http):
        result["error"] = "target not answering"
        return result
    try:
        identities = SETUPS[name](http, nonce)
    except (SetupError, OSError, KeyError, IndexError, TypeError) as err:
        result["error"] = f"set-up failed: {err}"
        return result
    result["identities"] = sorted(identities)
    spec = spec_for(args, target, url)
    result["spec"] = spec
    header = target["auth"]["header"]
    with tempfile.TemporaryDirectory(prefix="mortar-corpus-") as tmp:
        excluded = [] if args.no_excludes else target.get("exclude_paths", [])
        if excluded and not spec.startswith(("http://", "https://")):
            # mortar still sends one request to an --exclude-path'd operation of the description,
            # so a file description is also given without those operations (a copy in $TMP).
            spec = drop_paths(spec, excluded, Path(tmp))
            result["spec"] += f" (without {', '.join(excluded)})"
        cmd = [args.mortar, "scan", url, "--spec", spec, "--profile", profile, "--format", "json",
               "--output", str(outdir / f"{name}-{variant}-{profile}.json"),
               "--max-time", args.max_time, "--max-requests", str(args.max_requests)]
        for who, value in identities.items():
            f = Path(tmp) / f"{who}.token"
            f.write_text(value)
            f.chmod(0o600)
            cmd += ["--identity", f"{who}={header}:@{f}"]
        for path in excluded:
            cmd += ["--exclude-path", path]
        cmd += args.mortar_arg
        shown = " ".join(c if not c.startswith(tmp) else "$TMP/" + Path(c).name for c in cmd)
        shown = re.sub(r"=([^=:]+):@" + re.escape(tmp), r"=\1:@$TMP", shown)
        result["command"] = shown
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        result["wall_s"] = round(time.monotonic() - t0, 1)
        result["exit"] = proc.returncode
        err_lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        result["stderr_tail"] = err_lines[-5:]
    report_path = outdir / f"{name}-{variant}-{profile}.json"
    if proc.returncode == 2 or not report_path.exists():
        result["error"] = "mortar could not scan: " + (err_lines[-1] if err_lines else f"exit {proc.returncode}")
        return result
    result["report"] = str(report_path)
    report = json.loads(report_path.read_text())
    stats = report.get("stats") or {}
    result.update({"score": report.get("score"), "grade": report.get("grade"),
                   "requests": stats.get("requests"), "errors": stats.get("errors"),
                   "deadline_reached": stats.get("deadline_reached"),
                   "duration_ms": report.get("duration_ms")})
    result.update(score(target, variant, report, args.known_checks))
    return result


def rescore(args, corpus: dict, summary_path: Path) -> list[dict]:
    """Score the reports of an earlier run again (targets.toml changed): no set-up, no scan."""
    results = json.loads(summary_path.read_text())
    for r in results:
        report_path = Path(r.get("report") or summary_path.parent / f"{r['target']}-{r['variant']}-{r['profile']}.json")
        if "flaws" not in r or not report_path.exists():
            continue
        r.update(score(corpus[r["target"]], r["variant"], json.loads(report_path.read_text()), args.known_checks))
    return results


def drop_paths(spec: str, paths: list[str], tmp: Path) -> str:
    """A copy of a description file without the given path items (JSON, or YAML by indentation)."""
    src = Path(spec)
    text = src.read_text()
    dst = tmp / ("spec-" + src.name)
    if src.suffix == ".json":
        doc = json.loads(text)
        for p in paths:
            doc.get("paths", {}).pop(p, None)
        dst.write_text(json.dumps(doc))
        return str(dst)
    out, in_paths, skipping, indent = [], False, False, None
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        depth = len(line) - len(line.lstrip(" "))
        if re.match(r"^paths:\s*$", line):
            in_paths = True
        elif stripped and depth == 0:
            in_paths = False
        if in_paths and stripped and not stripped.startswith("#"):
            if indent is None and depth > 0:
                indent = depth
            if depth == indent:
                key = stripped.rstrip(":").strip("'\"")
                skipping = stripped.endswith(":") and key in paths
        if not skipping:
            out.append(line)
    dst.write_text("".join(out))
    return str(dst)


def wait_ready(http: Http, seconds: float = 60.0) -> bool:
    """Wait until the target answers HTTP at all (one that crashed under the last scan may be restarting)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            http.call("GET", "/")
            return True
        except OSError:
            time.sleep(0.5)
    return False


def spec_for(args, target: dict, url: str) -> str:
    if args.spec_source == "repo" and target.get("spec_repo"):
        checkout = args.checkouts.get(target["name"])
        if not checkout:
            sys.exit(f"--spec-source repo needs --checkout {target['name']}=DIR")
        return str(Path(checkout) / target["spec_repo"])
    return url.rstrip("/") + target["spec_published"]


def known_checks(mortar: str) -> set[str]:
    out = subprocess.run([mortar, "checks", "--format", "json"], capture_output=True, text=True, check=True)
    return {c["id"] for c in json.loads(out.stdout)}


# ------------------------------------------------------------------------------ output


def markdown(results: list[dict]) -> str:
    lines = []
    lines.append("## Scans\n")
    lines.append("| target | variant | profile | exit | score | requests | wall s | found / planted (black-box) | medium+ FP candidates |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r and "flaws" not in r:
            lines.append(f"| {r['target']} | {r['variant']} | {r['profile']} | {r.get('exit', '-')} | - | - | {r.get('wall_s', '-')} | {r['error']} | - |")
            continue
        bb = [f for f in r["flaws"] if f["blackbox"]]
        found = sum(f["found"] for f in bb)
        lines.append(f"| {r['target']} | {r['variant']} | {r['profile']} | {r['exit']} | {r['score']} {r['grade']} | "
                     f"{r['requests']} | {r['wall_s']} | {found} / {len(bb)} | {len(r['false_positive_candidates'])} |")
    for r in results:
        if "flaws" not in r:
            continue
        lines.append(f"\n### {r['target']} ({r['variant']}, {r['profile']})\n")
        lines.append(f"`{r['command']}` (identities: {', '.join(r['identities'])}; deadline reached: {r['deadline_reached']})\n")
        lines.append("| flaw | class | endpoint | black-box | tier | found | by | check exists |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for f in r["flaws"]:
            lines.append(f"| {f['id']} | {f['class']} | {f['method']} {f['path']} | {'yes' if f['blackbox'] else 'no'} | "
                         f"{f['tier']} | {'FOUND' if f['found'] else 'missed'} | {', '.join(f['by']) or '-'} | "
                         f"{'yes' if f['has_check'] else 'no'} |")
        if r["false_positive_candidates"]:
            lines.append("\nMedium+ findings proving no planted flaw (false-positive candidates):\n")
            for fp in r["false_positive_candidates"]:
                lines.append(f"- {fp['severity']} `{fp['check']}` {fp['method']} {fp['path']} ({fp['confidence']}): {fp['title']}")
        if r["incidental"]:
            lines.append("\nIncidental (true, not planted):\n")
            for it in r["incidental"]:
                lines.append(f"- {it['severity']} `{it['check']}` {it['method']} {it['path']}: {it['reason']}")
    # Recall over vulnerable variants, per profile.
    lines.append("\n## Recall (vulnerable variants, black-box-detectable flaws)\n")
    lines.append("| profile | docs tier | all tiers |")
    lines.append("|---|---|---|")
    for profile in sorted({r["profile"] for r in results}):
        docs = [f for r in results if r["profile"] == profile and r["variant"] == "vulnerable" and "flaws" in r
                for f in r["flaws"] if f["blackbox"] and f["tier"] == "docs"]
        allf = [f for r in results if r["profile"] == profile and r["variant"] == "vulnerable" and "flaws" in r
                for f in r["flaws"] if f["blackbox"]]
        pct = lambda xs: f"{sum(f['found'] for f in xs)}/{len(xs)} ({100 * sum(f['found'] for f in xs) / len(xs):.0f}%)" if xs else "-"
        lines.append(f"| {profile} | {pct(docs)} | {pct(allf)} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mortar", required=True, help="path of the mortar binary")
    ap.add_argument("--target", action="append", default=[], metavar="NAME[:VARIANT]=URL",
                    help="a running target (variant defaults to vulnerable); also CORPUS_TARGETS='a=URL b:secure=URL'")
    ap.add_argument("--profile", action="append", choices=["passive", "standard", "active"],
                    help="repeatable (default: standard and active)")
    ap.add_argument("--spec-source", choices=["published", "repo"], default="published",
                    help="the description the API publishes (default) or the file in its repository")
    ap.add_argument("--checkout", action="append", default=[], metavar="NAME=DIR",
                    help="the target's source checkout, for --spec-source repo")
    ap.add_argument("--targets-file", default=str(HERE / "targets.toml"))
    ap.add_argument("--max-time", default="300s", help="mortar --max-time per scan (default 300s)")
    ap.add_argument("--max-requests", type=int, default=30000, help="mortar --max-requests per scan")
    ap.add_argument("--mortar-arg", action="append", default=[], help="extra argument for mortar scan (repeatable)")
    ap.add_argument("--no-excludes", action="store_true",
                    help="do not pass the targets' exclude_paths (operations that destroy the set-up) to mortar")
    ap.add_argument("--rescore", metavar="SUMMARY.json",
                    help="score the reports of an earlier run again against targets.toml (no scan)")
    ap.add_argument("--out", default=None, help="directory for the reports and summary.json (default: a temp dir)")
    args = ap.parse_args()

    corpus = {t["name"]: t for t in tomllib.loads(Path(args.targets_file).read_text())["target"]}
    args.checkouts = dict(c.split("=", 1) for c in args.checkout)
    args.known_checks = known_checks(args.mortar)
    if args.rescore:
        print(markdown(rescore(args, corpus, Path(args.rescore))))
        return 0
    specs = args.target + os.environ.get("CORPUS_TARGETS", "").split()
    if not specs:
        ap.error("no --target given")
    profiles = args.profile or ["standard", "active"]
    outdir = Path(args.out or tempfile.mkdtemp(prefix="mortar-corpus-out-"))
    outdir.mkdir(parents=True, exist_ok=True)

    results = []
    for spec in specs:
        key, url = spec.split("=", 1)
        name, _, variant = key.partition(":")
        variant = variant or "vulnerable"
        if name not in corpus or name not in SETUPS:
            ap.error(f"unknown target {name!r} (known: {', '.join(sorted(corpus))})")
        for profile in profiles:
            print(f"scanning {name} ({variant}) {url} profile {profile} ...", file=sys.stderr, flush=True)
            results.append(run_scan(args, corpus[name], variant, url, profile, outdir))
    (outdir / "summary.json").write_text(json.dumps(results, indent=2))
    print(markdown(results))
    print(f"reports and summary.json in {outdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
