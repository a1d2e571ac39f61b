#!/usr/bin/env python3
"""The logic of mortar's GitHub Action (action.yml runs only this script).

It gets a mortar binary, scans, uploads SARIF to code scanning, writes the
job summary, posts or updates one pull-request comment (found again by a
marker), sets the step outputs and exits with mortar's exit code, so the
gates (--threshold, --fail-on, --baseline) fail the job.

Everything it needs comes from the environment GitHub Actions sets
(GITHUB_*, INPUT_* for the action's inputs, RUNNER_TEMP). A fork pull
request gets a read-only token: the comment and the SARIF upload are then
skipped with a notice instead of failing the job. Only the Python standard
library is used.
"""

import base64
import gzip
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request

MARKER = "<!-- mortar-action-report -->"
ASSET = "mortar-x86_64-unknown-linux-musl.tar.gz"


def notice(kind, message):
    """A workflow command GitHub shows on the run page (::notice/::warning/::error)."""
    print(f"::{kind}::{message}", flush=True)


def env(name, default=""):
    return os.environ.get(name, default).strip()


def action_input(name, default=""):
    # GitHub upper-cases input names and keeps dashes.
    return env("INPUT_" + name.upper(), default)


class GitHub:
    """The few REST calls the action makes, with the job's token."""

    def __init__(self, api_url, token):
        self.api_url = api_url.rstrip("/")
        self.token = token

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api_url + path, data=data, method=method)
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("X-GitHub-Api-Version", "2022-11-28")
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode() or "null"
                return response.status, json.loads(text)
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, {"message": text[:200]}


def pull_request(event):
    """The pull request of the triggering event, or None."""
    return event.get("pull_request")


def is_fork(event):
    pr = pull_request(event)
    if not pr:
        return False
    head = (pr.get("head") or {}).get("repo") or {}
    base = (pr.get("base") or {}).get("repo") or {}
    return head.get("full_name") != base.get("full_name")


def get_binary(workdir):
    """mortar from MORTAR_BIN, else the release asset (checksum verified), else cargo."""
    given = env("MORTAR_BIN")
    if given:
        return given
    version = action_input("version", "latest")
    server = env("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    # The repository the action was used from publishes the releases.
    repo = env("MORTAR_RELEASE_REPO") or env("GITHUB_ACTION_REPOSITORY") or "mortar-scanner/mortar"
    base = f"{server}/{repo}/releases/latest/download" if version == "latest" else f"{server}/{repo}/releases/download/{version}"
    try:
        archive = os.path.join(workdir, ASSET)
        urllib.request.urlretrieve(f"{base}/{ASSET}", archive)
        sums = os.path.join(workdir, ASSET + ".sha256")
        urllib.request.urlretrieve(f"{base}/{ASSET}.sha256", sums)
        expected = open(sums).read().split()[0]
        actual = hashlib.sha256(open(archive, "rb").read()).hexdigest()
        if expected != actual:
            raise RuntimeError(f"checksum mismatch for {ASSET}: {actual} != {expected}")
        with tarfile.open(archive) as tar:
            member = tar.getmember("mortar")
            if not member.isfile():
                raise RuntimeError(f"{ASSET} holds no mortar file")
            tar.extract(member, workdir)
        path = os.path.join(workdir, "mortar")
        os.chmod(path, 0o755)
        return path
    except Exception as error:  # any failure: fall back to building
        notice("warning", f"no release binary ({error}); building mortar with cargo")
    root = env("GITHUB_ACTION_PATH", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        subprocess.run(["cargo", "install", "--locked", "--path", os.path.join(root, "crates", "mortar"), "--root", workdir], check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        notice("error", f"cannot build mortar with cargo either ({error})")
        return None
    return os.path.join(workdir, "bin", "mortar")


def scan_command(binary, workdir):
    """The mortar command line from the inputs; secrets travel as env: references."""
    reports = {f: os.path.join(workdir, f"mortar.{ext}") for f, ext in
               [("json", "json"), ("sarif", "sarif"), ("markdown", "md")]}
    command = [binary, "scan", action_input("url")]
    for flag, name in [("--spec", "spec"), ("--profile", "profile"), ("--threshold", "threshold"),
                       ("--fail-on", "fail-on"), ("--baseline", "baseline"), ("--config", "config")]:
        value = action_input(name)
        if value:
            command += [flag, value]
    # Identities: one NAME=HEADER:VALUE per line, usually from a secret. The
    # value goes through an environment variable so it is never in argv.
    child_env = dict(os.environ)
    for index, line in enumerate(l.strip() for l in action_input("identities").splitlines()):
        if not line:
            continue
        name, sep, rest = line.partition("=")
        header, sep2, value = rest.partition(":")
        if not (sep and sep2 and name and header):
            raise SystemExit(f"mortar action: identity line {index + 1} is not NAME=HEADER:VALUE")
        variable = f"MORTAR_ACTION_IDENTITY_{index}"
        child_env[variable] = value.strip()
        command += ["--identity", f"{name}={header}:env:{variable}"]
    command += shlex.split(action_input("args"))
    command += ["--format", "summary"]
    for fmt, path in reports.items():
        command += ["--report", f"{fmt}={path}"]
    return command, child_env, reports


def upload_sarif(github, repo, event, sarif_path):
    sha = env("GITHUB_SHA")
    ref = env("GITHUB_REF")
    pr = pull_request(event)
    if pr:
        sha = (pr.get("head") or {}).get("sha", sha)
        ref = f"refs/pull/{pr['number']}/head"
    payload = base64.b64encode(gzip.compress(open(sarif_path, "rb").read())).decode()
    status, body = github.call("POST", f"/repos/{repo}/code-scanning/sarifs",
                               {"commit_sha": sha, "ref": ref, "sarif": payload, "tool_name": "mortar"})
    if status in (200, 202):
        print(f"mortar action: SARIF uploaded ({status})")
    elif status in (403, 404):
        notice("warning", f"SARIF not uploaded: {body.get('message', status)} (fork pull request or code scanning off)")
    else:
        notice("warning", f"SARIF upload failed: HTTP {status} {body.get('message', '')}")


def post_comment(github, repo, event, markdown):
    number = pull_request(event)["number"]
    text = MARKER + "\n" + markdown
    status, comments = github.call("GET", f"/repos/{repo}/issues/{number}/comments?per_page=100")
    if status != 200:
        notice("warning", f"cannot list pull request comments: HTTP {status}")
        return
    mine = [c for c in comments if MARKER in (c.get("body") or "")]
    if mine:
        status, _ = github.call("PATCH", f"/repos/{repo}/issues/comments/{mine[0]['id']}", {"body": text})
    else:
        status, _ = github.call("POST", f"/repos/{repo}/issues/{number}/comments", {"body": text})
    if status not in (200, 201):
        notice("warning", f"pull request comment not written: HTTP {status}")


def write_outputs(report, reports):
    """score, grade, one count per severity, and the report paths, as step outputs."""
    lines = {"score": report.get("score", ""), "grade": report.get("grade", ""),
             "report": reports["json"], "sarif": reports["sarif"]}
    for severity in ["critical", "high", "medium", "low", "info"]:
        lines[f"{severity}-count"] = sum(1 for f in report.get("findings", []) if f.get("severity") == severity)
    output = env("GITHUB_OUTPUT")
    if output:
        with open(output, "a") as out:
            for key, value in lines.items():
                out.write(f"{key}={value}\n")


def main():
    if not action_input("url"):
        print("mortar action: the `url` input is required", file=sys.stderr)
        return 2
    event = {}
    if env("GITHUB_EVENT_PATH") and os.path.exists(env("GITHUB_EVENT_PATH")):
        event = json.load(open(env("GITHUB_EVENT_PATH")))
    workdir = tempfile.mkdtemp(prefix="mortar-action-", dir=env("RUNNER_TEMP") or None)
    binary = get_binary(workdir)
    if binary is None:
        return 2
    command, child_env, reports = scan_command(binary, workdir)
    code = subprocess.run(command, env=child_env).returncode
    if code not in (0, 1) or not os.path.exists(reports["json"]):
        notice("error", f"mortar could not scan (exit {code})")
        return code or 2
    report = json.load(open(reports["json"]))
    markdown = open(reports["markdown"]).read()
    summary = env("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a") as out:
            out.write(markdown + "\n")
    write_outputs(report, reports)
    github = GitHub(env("GITHUB_API_URL", "https://api.github.com"), action_input("token"))
    repo = env("GITHUB_REPOSITORY")
    fork = is_fork(event)
    if action_input("upload-sarif", "true") == "true":
        if fork:
            notice("notice", "fork pull request: the token is read-only, SARIF is not uploaded (the report is in the job summary)")
        else:
            upload_sarif(github, repo, event, reports["sarif"])
    if pull_request(event) and action_input("comment", "true") == "true":
        if fork:
            notice("notice", "fork pull request: the token is read-only, no comment is posted (the report is in the job summary)")
        else:
            post_comment(github, repo, event, markdown)
    return code


if __name__ == "__main__":
    sys.exit(main())
