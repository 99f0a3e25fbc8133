#!/usr/bin/env python3
"""Recall and false-discovery proportion of `traceflow cases` on stores whose
truth is known.

For each setting and seed it writes a store with
../shared/tools/gen_tfl_db.py --cases N (relative to the repository root),
runs `traceflow cases --window all --format json` on it, and compares the
cases called `regressed` with the generator's truth file (OUT.db.truth.json).
Prints one Markdown row per setting: the mean recall (regressed cases found
/ cases that regress), the mean false-discovery proportion (false ones /
found; 0 when none found) with its standard error, and how often the split
was the total's step.

  bench/cases_truth.py --traceflow target/release/traceflow --seeds 10

Python 3 standard library only.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR = REPO_ROOT.parent / "shared" / "tools" / "gen_tfl_db.py"

# (cases, traces, p after the step for the regressing cases)
SETTINGS = [
    (20, 6000, 0.3),
    (60, 6000, 0.3),
    (60, 6000, 0.6),
    (200, 6000, 0.3),
    (200, 20000, 0.6),
]


def one(traceflow, cases, traces, p_step, seed, flaky):
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "cases.db"
        subprocess.run(
            [sys.executable, str(GENERATOR), str(db), "--traces", str(traces), "--cases", str(cases),
             "--step-at", str(traces // 2), "--p-start", "0.9", "--p-step", str(p_step),
             "--regress-share", "0.25", "--flaky-share", str(flaky), "--seed", str(seed)],
            check=True, capture_output=True)
        truth = json.loads((Path(tmp) / "cases.db.truth.json").read_text())
        out = subprocess.run([traceflow, "cases", "--db", str(db), "--window", "all", "--format", "json"],
                             check=True, capture_output=True, text=True)
        doc = json.loads(out.stdout)
    regressed = set(truth["regressed"])
    found = {c["case"] for c in doc["cases"] if c["verdict"] == "regressed"}
    recall = len(found & regressed) / len(regressed) if regressed else 1.0
    fdp = len(found - regressed) / len(found) if found else 0.0
    return recall, fdp, doc["split"]["rule"] if doc["split"] else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--traceflow", required=True)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--flaky-share", type=float, default=0.1)
    a = ap.parse_args()
    print("| cases | traces | p after (regressing) | stores | recall | FDP (± SE) | split at the step |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for cases, traces, p_step in SETTINGS:
        rows = [one(a.traceflow, cases, traces, p_step, seed, a.flaky_share) for seed in range(1, a.seeds + 1)]
        recalls = [r for r, _, _ in rows]
        fdps = [f for _, f, _ in rows]
        se = statistics.stdev(fdps) / len(fdps) ** 0.5 if len(fdps) > 1 else 0.0
        steps = sum(1 for _, _, rule in rows if rule == "change_point")
        print("| %d | %d | %.1f | %d | %.3f | %.3f (± %.3f) | %d of %d |" % (
            cases, traces, p_step, len(rows), statistics.mean(recalls), statistics.mean(fdps), se,
            steps, len(rows)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
