#!/usr/bin/env python3
"""The Python package, measured (issue 13, item 8).

In one run, interleaved, medians of --rounds, on one store (a 1M-trace
`gen_tfl_db.py` store):

- `TraceTrendAnalyzer(db).analyze(window=20)` from Python against the
  command doing the same work (`traceflow trend --window 20 --format json`),
  each a whole process writing the JSON report to /dev/null (Python by
  `report.to_json("/dev/null")`): Python's includes starting the
  interpreter and importing the package; and the Python process analyzing
  only (no report written). The Python script
  also times its own call (analysis and JSON), from inside the process:
  what a program that has Python running already waits for;
- the same for the full history (`window="all"`, `--window all`), and
  Python's taking the JSON as a `str` (`to_json()`) and writing that;
- window 20 against the proposal's Python (`proposal_trend.py --fixed`,
  the proposal's rule with its two obvious fixes), a whole process each;
- the import time of the module (`python -c "import traceflow"` less
  `python -c pass`).

Usage (the release binary built, the package installed in the venv whose
python runs this):

    cargo build --release -p traceflow-cli
    .ci/python.sh        # or: pip install ./crates/traceflow-py
    target/python-venv/bin/python bench/python.py --store h1.db --rounds 5
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/traceflow"
PROPOSAL = ROOT.parent / "shared/tools/proposal_trend.py"

ANALYZE = """
import sys, time
from traceflow import TraceTrendAnalyzer
window = sys.argv[2] if sys.argv[2] == "all" else int(sys.argv[2])
start = time.perf_counter()
report = TraceTrendAnalyzer(sys.argv[1]).analyze(window=window)
if sys.argv[3] == "json":
    report.to_json("/dev/null")
elif sys.argv[3] == "str":
    with open("/dev/null", "w") as out:
        out.write(report.to_json())
print(f"in-process {time.perf_counter() - start}", file=sys.stderr)
"""


def seconds(cmd):
    """Wall seconds and peak RSS (MB) of a whole process."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - start
    lines = done.stderr.strip().splitlines()
    # The Python cases' own clock around the call, from inside the process.
    inside = [float(l.split()[1]) for l in lines if l.startswith("in-process ")]
    return wall, int(lines[-1]) / 1000, inside[0] if inside else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    py = sys.executable
    cases = {
        "python w20": [py, "-c", ANALYZE, a.store, "20", "json"],
        "python w20 analyze only": [py, "-c", ANALYZE, a.store, "20", "-"],
        "cli w20": [str(BIN), "trend", "--db", a.store, "--window", "20", "--format", "json"],
        "proposal w20": [py, str(PROPOSAL), a.store, "--window", "20", "--fixed"],
        "python all": [py, "-c", ANALYZE, a.store, "all", "json"],
        "python all str": [py, "-c", ANALYZE, a.store, "all", "str"],
        "python all analyze only": [py, "-c", ANALYZE, a.store, "all", "-"],
        "cli all": [str(BIN), "trend", "--db", a.store, "--window", "all", "--format", "json"],
        "import": [py, "-c", "import traceflow"],
        "bare": [py, "-c", "pass"],
    }
    # The proposal's script exits 1 on "worsening"; time it all the same.
    results = {name: [] for name in cases}
    for _ in range(a.rounds):
        for name, cmd in cases.items():
            try:
                results[name].append(seconds(cmd))
            except subprocess.CalledProcessError as err:
                if name != "proposal w20" or err.returncode != 1:
                    raise
                results[name].append((float("nan"), 0.0, None))
        print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    def ratios(x, y):
        return [p[0] / q[0] for p, q in zip(results[x], results[y])]

    def inside(x, y):
        """The Python call timed inside its process, over the command."""
        return [p[2] / q[0] for p, q in zip(results[x], results[y])]

    out = {
        name: {
            "median_s": statistics.median(t for t, _, _ in runs),
            "min_s": min(t for t, _, _ in runs),
            "max_s": max(t for t, _, _ in runs),
            "peak_rss_mb": max(m for _, m, _ in runs),
            **(
                {"in_process_median_s": statistics.median(i for _, _, i in runs)}
                if runs[0][2] is not None
                else {}
            ),
        }
        for name, runs in results.items()
    }
    out["ratios (median of per-round ratios)"] = {
        "python/cli w20": statistics.median(ratios("python w20", "cli w20")),
        "python/cli all": statistics.median(ratios("python all", "cli all")),
        "python all str/cli all": statistics.median(ratios("python all str", "cli all")),
        "python analyze only/cli w20": statistics.median(ratios("python w20 analyze only", "cli w20")),
        "python analyze only/cli all": statistics.median(ratios("python all analyze only", "cli all")),
        "python w20 call (in-process)/cli w20": statistics.median(inside("python w20", "cli w20")),
        "python all call (in-process)/cli all": statistics.median(inside("python all", "cli all")),
        "python all str call (in-process)/cli all": statistics.median(inside("python all str", "cli all")),
        "proposal/python w20": statistics.median(ratios("proposal w20", "python w20")),
        "import minus bare, s": statistics.median(
            i[0] - b[0] for i, b in zip(results["import"], results["bare"])
        ),
    }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
