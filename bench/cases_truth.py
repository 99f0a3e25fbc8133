#!/usr/bin/env python3
"""Recall and false-discovery proportion of `traceflow cases` on stores whose
truth is known.

For each setting and seed it writes a store with
../shared/tools/gen_tfl_db.py --cases N (relative to the repository root),
runs `traceflow cases --window all --format json` on it, and compares the
cases called `regressed` with the generator's truth file (OUT.db.truth.json).
Prints one Markdown row per setting: the mean recall (regressed cases found
/ cases that regress), the mean false-discovery proportion (false ones /
found; 0 when none found) with its standard error, how often the split was
the total's step, and for flaky cases (the generator's: a pass chance of 0.5
throughout) the recall and precision of the cases called `flaky`.

  bench/cases_truth.py --traceflow target/release/traceflow --seeds 10

Python 3 standard library only.
"""
import argparse
import json
import math
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
    flaky = set(truth["flaky"])
    called = {c["case"] for c in doc["cases"] if c["verdict"] == "flaky"}
    flaky_recall = len(called & flaky) / len(flaky) if flaky else None
    flaky_precision = len(called & flaky) / len(called) if called else None
    # The generator's chance of a pass per attempt, for a case on a side
    # (its p_case rule: the base, or p_step after the step for a regressing
    # case, moved by the case's difficulty on the logit scale).
    by_input = {c["input"]: c for c in truth["cases"]}
    def true_chance(case, side):
        if case["flaky"]:
            return 0.5
        base = p_step if case["regresses"] and side == "after" else 0.9
        z = math.log(base / (1 - base)) + case["offset"]
        return 1 / (1 + math.exp(-z))
    others = [c for c in doc["cases"] if c["verdict"] == "flaky" and c["case"] not in flaky]
    intermediate = sum(1 for c in others
                       if 0.2 < true_chance(by_input[c["case"]], c["flakiness"]["side"]) < 0.8)
    return (recall, fdp, doc["split"]["rule"] if doc["split"] else None, flaky_recall, flaky_precision,
            (intermediate, len(others)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--traceflow", required=True)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--flaky-share", type=float, default=0.1)
    a = ap.parse_args()
    print("| cases | traces | p after (regressing) | stores | recall | FDP (± SE) | split at the step | flaky recall | flaky precision | other flaky calls with a true chance in 0.2–0.8 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for cases, traces, p_step in SETTINGS:
        rows = [one(a.traceflow, cases, traces, p_step, seed, a.flaky_share) for seed in range(1, a.seeds + 1)]
        recalls = [r[0] for r in rows]
        fdps = [r[1] for r in rows]
        se = statistics.stdev(fdps) / len(fdps) ** 0.5 if len(fdps) > 1 else 0.0
        steps = sum(1 for r in rows if r[2] == "change_point")
        mean = lambda xs: "%.3f" % statistics.mean(xs) if xs else "-"
        flaky_recall = mean([r[3] for r in rows if r[3] is not None])
        flaky_precision = mean([r[4] for r in rows if r[4] is not None])
        inter = sum(r[5][0] for r in rows)
        other = sum(r[5][1] for r in rows)
        print("| %d | %d | %.1f | %d | %.3f | %.3f (± %.3f) | %d of %d | %s | %s | %d of %d |" % (
            cases, traces, p_step, len(rows), statistics.mean(recalls), statistics.mean(fdps), se,
            steps, len(rows), flaky_recall, flaky_precision, inter, other))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
