#!/usr/bin/env python3
"""Confirmation rate of the race checks: N scans of each vulnerable race
scenario of a running lab, each with the plan's rounds.

Usage: mortar lab > lab.jsonl &   then
       race_confirmation.py lab.jsonl path/to/mortar [N]
Prints, per scenario: scans confirmed, rounds won (in all and by the burst's
synchronization), requests per scan, time.
Sends traffic only to the lab's loopback targets; stops after N scans each.
"""
import json
import re
import subprocess
import sys
import time


def main() -> None:
    lab_file, mortar = sys.argv[1], sys.argv[2]
    scans = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    targets = [json.loads(line) for line in open(lab_file) if line.strip()]
    for t in targets:
        if not t["scenario"].startswith("race-") or t["variant"] != "vulnerable":
            continue
        check = t["expected"][0]
        confirmed = wins = rounds = 0
        by_mode = {}
        requests = []
        started = time.time()
        for _ in range(scans):
            args = [mortar, "scan", t["url"], "--format", "json", "--checks", check] + t["scan_args"]
            out = subprocess.run(args, capture_output=True, text=True, timeout=600)
            report = json.loads(out.stdout)
            coverage = next(c for c in report["coverage"]["checks"] if c["check"] == check)
            won, ran = map(int, re.search(r"(\d+) of (\d+) round", coverage["reason"]).groups())
            wins += won
            rounds += ran
            requests.append(coverage["requests"])
            for part in re.split(r"; (?=round \d+:)", coverage["reason"]):
                m = re.search(r"round \d+: burst of \d+ \(([a-z-]+)\)", part)
                if m:
                    tally = by_mode.setdefault(m.group(1), [0, 0])
                    tally[0] += part.rstrip(")").endswith("; won")
                    tally[1] += 1
            confirmed += any(f["check"] == check for f in report["findings"])
        print(
            f"{t['scenario']}: confirmed {confirmed}/{scans} scans; rounds won {wins}/{rounds} "
            f"({', '.join(f'{m} {w}/{n}' for m, (w, n) in sorted(by_mode.items()))}); "
            f"requests per scan {min(requests)}-{max(requests)}; {time.time() - started:.0f} s"
        )


if __name__ == "__main__":
    main()
