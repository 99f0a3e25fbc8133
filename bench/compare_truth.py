#!/usr/bin/env python3
"""False alarms and power of `traceflow compare`, paired and unpaired, on
stores whose truth is known.

For each setting and seed it writes a store with
../shared/tools/gen_tfl_db.py --cases N (relative to the repository root),
compares its second half (the candidate) with its first (the baseline) by
time, with the cases pairing the difference and with `--unpaired`, and
counts the regressions. Prints one Markdown row per setting.

  bench/compare_truth.py --traceflow target/release/traceflow --seeds 200

Python 3 standard library only.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR = REPO_ROOT.parent / "shared" / "tools" / "gen_tfl_db.py"
TRACES = 800
# The generator starts at 2026-01-01T00:00:00Z, one trace every 7 minutes.
MIDDLE = (datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=7 * TRACES // 2)).strftime(
    "%Y-%m-%dT%H:%M:%SZ")

# (label, generator arguments): no change, then a quarter of the cases
# falling at the middle trace.
SETTINGS = [
    ("no change, 40 cases, case sd 1.5", ["--cases", "40", "--case-sd", "1.5", "--p-start", "0.85"]),
    ("a quarter of 40 cases fall from 0.85 to 0.55 (total -7.5 points)",
     ["--cases", "40", "--case-sd", "1.5", "--p-start", "0.85", "--step-at", str(TRACES // 2),
      "--p-step", "0.55", "--regress-share", "0.25"]),
]


def verdict(traceflow, db, extra):
    out = subprocess.run(
        [traceflow, "compare", "--db", str(db), "--window", "all", "--min-drop", "0.03",
         "--baseline", "until=" + MIDDLE, "--candidate", "since=" + MIDDLE, "--format", "json"] + extra,
        capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise SystemExit(out.stderr)
    doc = json.loads(out.stdout)
    return doc["verdict"] == "regression", doc["paired"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--traceflow", required=True)
    ap.add_argument("--seeds", type=int, default=200)
    a = ap.parse_args()
    print("| setting | stores | regressions, paired (± SE) | unpaired (± SE) | paired in |")
    print("|---|---:|---:|---:|---:|")
    for label, gen in SETTINGS:
        paired = unpaired = pairable = 0
        for seed in range(1, a.seeds + 1):
            with tempfile.TemporaryDirectory() as tmp:
                db = Path(tmp) / "c.db"
                subprocess.run([sys.executable, str(GENERATOR), str(db), "--traces", str(TRACES)] + gen
                               + ["--seed", str(seed)], check=True, capture_output=True)
                r, p = verdict(a.traceflow, db, [])
                paired += r
                pairable += p
                unpaired += verdict(a.traceflow, db, ["--unpaired"])[0]
        n = a.seeds
        se = lambda k: (k / n * (1 - k / n) / n) ** 0.5
        print("| %s | %d | %.3f (± %.3f) | %.3f (± %.3f) | %d of %d |" % (
            label, n, paired / n, se(paired), unpaired / n, se(unpaired), pairable, n))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
