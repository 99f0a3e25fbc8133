#!/usr/bin/env python3
"""`traceflow import` measured (issue 24, "Measured").

For each input written by bench/import_data.py (a promptfoo history of run
files; an OTLP traces.jsonl + logs.jsonl pair), --repeat rounds, the order
of the first two alternating by round (traceflow first in odd-numbered
rounds r1, r3, ...):

- `traceflow import --db FRESH --format F PATHS` into a new store;
- `bench/import_reference.py --db FRESH F PATHS` (json + sqlite3.executemany,
  the same rows) into a new store;
- `traceflow import` of the same unchanged files again, into the store the
  first import of the round wrote (the re-import: every result skipped by
  its digest).

Each a whole process, wall time and peak RSS (GNU time's %M, MB = 10^6 B).
Printed: medians, min, max; the ratios python/traceflow and
re-import/import (median of per-round ratios) against the issue's targets.
The row counts of the two stores of round 1 are compared (traces,
trace_steps, trace_evals must be equal).

Then `traceflow trend --group-by run --case-by case --window all --format
json` on the largest imported store (or --imported STORE), against the same analysis on a
TraceFlow Lite store of the same number of traces written by
../shared/tools/gen_tfl_db.py (skipped, with a message, when the tool is
missing; `--tfl-store` reuses one). A gen_tfl_db store records no source run
or case, so the like-for-like pair is `--group-by day --case-by input` on
both stores (the imported cases are distinct inputs too); the issue's
command is timed on the imported store beside it.

    bench/import_data.py DATA                  # ~2 GB, see its doc
    bench/import.py --data DATA --work SCRATCH --repeat 3

Needs GNU time (/usr/bin/time), python3, cargo. SCRATCH needs ~2x the
stores' size (~3 GB at the default sizes).
"""

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "bench/import_reference.py"
GEN = ROOT.parent / "shared/tools/gen_tfl_db.py"


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")


def run(cmd):
    """Wall seconds and peak RSS (MB) of a whole process; its stderr."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *map(str, cmd)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    lines = done.stderr.strip().splitlines()
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(map(str, cmd))}\n{done.stderr}")
    return wall, int(lines[-1]) / 1000, "\n".join(lines[:-1])


def fresh(path):
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def counts(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
           for t in ("traces", "trace_steps", "trace_evals")}
    con.close()
    return out


def summary(runs):
    walls = [w for w, _ in runs]
    return {"median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3),
            "max_s": round(max(walls), 3), "median_rss_mb": round(statistics.median(m for _, m in runs), 1),
            "max_rss_mb": round(max(m for _, m in runs), 1)}


def measure_import(name, fmt, paths, a, binary, out):
    work = Path(a.work)
    tf_db, py_db = work / f"{name}-traceflow.db", work / f"{name}-python.db"
    results = {"traceflow import": [], "python reference": [], "traceflow re-import": []}
    size = sum(p.stat().st_size for p in paths)
    print(f"{name}: {len(paths)} file(s), {size / 1e6:.1f} MB", file=sys.stderr)
    tf_cmd = [binary, "import", "--db", tf_db, "--format", fmt, *paths]
    py_cmd = [sys.executable, REFERENCE, "--db", py_db, fmt, *paths]
    messages = {}
    for r in range(1, a.repeat + 1):
        order = ["tf", "py"] if r % 2 == 1 else ["py", "tf"]
        for who in order:
            if who == "tf":
                fresh(tf_db)
                wall, rss, err = run(tf_cmd)
                results["traceflow import"].append((wall, rss))
                messages["import"] = err
            else:
                fresh(py_db)
                wall, rss, err = run(py_cmd)
                results["python reference"].append((wall, rss))
        wall, rss, err = run(tf_cmd)
        results["traceflow re-import"].append((wall, rss))
        messages["re-import"] = err
        print(f"  r{r}: " + ", ".join(f"{k} {v[-1][0]:.2f}s {v[-1][1]:.0f}MB" for k, v in results.items()),
              file=sys.stderr)
        if r == 1:
            rows = {"traceflow": counts(tf_db), "python": counts(py_db)}
            if rows["traceflow"] != rows["python"]:
                sys.exit(f"{name}: the stores differ in rows: {rows}")
    ratio = lambda x, y: [p[0] / q[0] for p, q in zip(results[x], results[y])]
    speedup = statistics.median(ratio("python reference", "traceflow import"))
    reimport = statistics.median(ratio("traceflow re-import", "traceflow import"))
    out[name] = {
        "input": {"files": len(paths), "mb": round(size / 1e6, 1)},
        "rows": rows["traceflow"],
        "store_mb": round(tf_db.stat().st_size / 1e6, 1),
        **{k: summary(v) for k, v in results.items()},
        "python/traceflow (median of per-round ratios)": round(speedup, 2),
        "re-import/import (median of per-round ratios)": round(reimport, 3),
        "targets": {
            "traceflow >= 5x faster than python": speedup >= 5,
            "re-import < 0.2x import": reimport < 0.2,
            "peak RSS < 200 MB": max(m for _, m in results["traceflow import"]) < 200,
        },
        "traceflow's output (last round)": messages,
        "rounds": {k: [[round(w, 3), round(m, 1)] for w, m in v] for k, v in results.items()},
    }
    return tf_db


def measure_trend(imported, a, binary, out):
    traces = counts(imported)["traces"]
    tfl = Path(a.tfl_store) if a.tfl_store else Path(a.work) / f"tfl-{traces}.db"
    if not tfl.exists():
        if not GEN.exists():
            print(f"trend: {GEN} is missing; the comparison with a TraceFlow Lite store is skipped",
                  file=sys.stderr)
            out["trend"] = {"skipped": f"{GEN} missing"}
            return
        print(f"trend: writing a {traces}-trace TraceFlow Lite store with gen_tfl_db.py", file=sys.stderr)
        gen = [sys.executable, GEN, tfl, "--traces", traces, "--cases", a.tfl_cases, "--seed", "7"]
        wall, rss, _ = run(gen)
        out["gen_tfl_db"] = {"command": " ".join(map(str, gen)), "s": round(wall, 1), "rss_mb": rss}
    trend = [binary, "trend", "--window", "all", "--format", "json"]
    cases = {
        "imported: --group-by run --case-by case": [*trend, "--db", imported, "--group-by", "run", "--case-by", "case"],
        "imported: --group-by day --case-by input": [*trend, "--db", imported, "--group-by", "day", "--case-by", "input"],
        "gen_tfl_db: --group-by day --case-by input": [*trend, "--db", tfl, "--group-by", "day", "--case-by", "input"],
    }
    # (`--group-by run` on the gen_tfl_db store exits 2: no trace has config key "run".)
    results = {k: [] for k in cases}
    for r in range(a.repeat):
        names = list(cases)
        names = names[r % len(names):] + names[:r % len(names)]  # rotated each round
        for name in names:
            wall, rss, _ = run(cases[name])
            results[name].append((wall, rss))
    ratio = [p[0] / q[0] for p, q in zip(results["imported: --group-by day --case-by input"],
                                         results["gen_tfl_db: --group-by day --case-by input"])]
    out["trend"] = {
        "stores": {"imported": {"path": str(imported), **counts(imported)}, "gen_tfl_db": {"path": str(tfl), **counts(tfl)}},
        "commands": {k: " ".join(map(str, v)) for k, v in cases.items()},
        **{k: summary(v) for k, v in results.items()},
        "imported/gen_tfl_db, day+input (median of per-round ratios)": round(statistics.median(ratio), 3),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="bench/import_data.py's output directory")
    ap.add_argument("--work", required=True, help="a scratch directory for the stores")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip", choices=["promptfoo", "otlp", "trend"], action="append", default=[])
    ap.add_argument("--tfl-store", help="a gen_tfl_db.py store to reuse for the trend comparison")
    ap.add_argument("--tfl-cases", type=int, default=504, help="gen_tfl_db.py --cases")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--imported", help="an imported store to run the trend comparison on (with --skip promptfoo --skip otlp)")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "traceflow-cli"], cwd=ROOT, check=True)
    binary = target_dir() / "release/traceflow"
    Path(a.work).mkdir(parents=True, exist_ok=True)
    data = Path(a.data)
    out = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": os.cpu_count(),
        "traceflow": subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip(),
        "python": sys.version.split()[0],
        "sqlite3 (python)": sqlite3.sqlite_version,
        "repeat": a.repeat,
    }
    imported = None
    if "promptfoo" not in a.skip:
        paths = sorted((data / "promptfoo").glob("*.json"))
        imported = measure_import("promptfoo", "promptfoo", paths, a, binary, out)
    if "otlp" not in a.skip:
        paths = [data / "otlp/traces.jsonl", data / "otlp/logs.jsonl"]
        imported = measure_import("otlp", "otlp", paths, a, binary, out)
    if a.imported:
        imported = Path(a.imported)
    if "trend" not in a.skip and imported is not None:
        measure_trend(imported, a, binary, out)
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
