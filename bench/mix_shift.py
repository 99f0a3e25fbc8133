#!/usr/bin/env python3
"""False alarms (and power) of the trend across all decisions and within the
same cases, on stores where no case changes (and one where every case falls).

For each seed it writes a store with ../shared/tools/gen_tfl_db.py (relative
to the repository root) whose cases keep their pass chance throughout, runs
`traceflow trend --format json` on it without and with `--case-by input`, and
counts the regressions of the total pass rate. Prints one Markdown row per
setting: stores, each rule's false-alarm rate with its standard error, and
how often the within-case test was the one the verdict rested on.

  bench/mix_shift.py --traceflow target/release/traceflow --seeds 200

Settings: a pure mix shift (the hardest cases drawn 6 times as often at the
end: `--mix-shift 6`), and cases that differ in difficulty without a shift
(`--case-sd 1.5`), in windows of hourly runs. Python 3 standard library only.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR = REPO_ROOT.parent / "shared" / "tools" / "gen_tfl_db.py"

# (label, generator arguments, trend arguments)
SETTINGS = [
    ("mix shift 6, 40 cases, 3000 traces, by hour",
     ["--traces", "3000", "--cases", "40", "--mix-shift", "6", "--p-start", "0.9"],
     ["--group-by", "hour", "--window", "all"]),
    ("case sd 1.5, 40 cases, 3000 traces, last 40 hours",
     ["--traces", "3000", "--cases", "40", "--case-sd", "1.5", "--p-start", "0.85"],
     ["--group-by", "hour", "--window", "40"]),
    # Power: every case falls (on the logit scale, from 0.85 to 0.75 at
    # its base level) at the last 40 hours' middle.
    ("power: every case falls 0.85 -> 0.75 at trace 2830, case sd 1.5, last 40 hours",
     ["--traces", "3000", "--cases", "40", "--case-sd", "1.5", "--p-start", "0.85",
      "--step-at", "2830", "--p-step", "0.75"],
     ["--group-by", "hour", "--window", "40"]),
]


def regression(traceflow, db, args):
    out = subprocess.run([traceflow, "trend", "--db", str(db), "--format", "json"] + args,
                         check=True, capture_output=True, text=True)
    stats = json.loads(out.stdout)["reports"][0]["statistics"]
    within = stats.get("within_cases")
    return stats["verdict"] == "regression", bool(within and within["used"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--traceflow", required=True)
    ap.add_argument("--seeds", type=int, default=200)
    a = ap.parse_args()
    print("| setting | stores | false alarms across all decisions (± SE) | within the same cases (± SE) | within-case test used |")
    print("|---|---:|---:|---:|---:|")
    for label, gen, trend in SETTINGS:
        plain = within = used = 0
        for seed in range(1, a.seeds + 1):
            with tempfile.TemporaryDirectory() as tmp:
                db = Path(tmp) / "s.db"
                subprocess.run([sys.executable, str(GENERATOR), str(db)] + gen + ["--seed", str(seed)],
                               check=True, capture_output=True)
                plain += regression(a.traceflow, db, trend)[0]
                r, u = regression(a.traceflow, db, trend + ["--case-by", "input"])
                within += r
                used += u
        n = a.seeds
        se = lambda k: (k / n * (1 - k / n) / n) ** 0.5
        print("| %s | %d | %.3f (± %.3f) | %.3f (± %.3f) | %d of %d |" % (
            label, n, plain / n, se(plain), within / n, se(within), used, n))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
