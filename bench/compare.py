#!/usr/bin/env python3
"""Times `traceflow trend` against the sqlite3 floor and the proposal's Python.

Every command runs in the same invocation, round-robin (each round runs each
command once, in an order rotated by one per round), so that the noise of a
shared machine falls on all of them alike. Wall time and peak RSS are taken
per run: wall time by this script's clock around the run, peak RSS by GNU
time's %M (/usr/bin/time, override with --time); no shell in between.

  bench/compare.py --db STORE.db --traceflow target/release/traceflow --repeat 7

The proposal's analyzer is ../shared/tools/proposal_trend.py relative to the
repository root (override with --proposal); --skip-python leaves it out.

With --baseline BINARY, every traceflow command is also run with BINARY (say,
a release build of an earlier commit) in the same rounds: each command and its
baseline twin are adjacent in the rotation, and which of the two goes first
alternates by round. It then prints, per command, both medians (wall time and
peak RSS) and the median of the per-round new/baseline ratios. A command that
fails with one binary is reported (exit code and stderr) and left out of the
later rounds; the others go on.

Python 3 standard library only. Exits non-zero if any command fails.
"""
import argparse
import datetime
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROPOSAL = REPO_ROOT.parent / "shared" / "tools" / "proposal_trend.py"

# The columns traceflow's one-pass scans read from these two tables.
FLOOR_SQL = (
    "SELECT trace_id, status, created_at FROM traces; "
    "SELECT trace_id, decision, scores_json FROM trace_evals;"
)
# The floors the facts-seam issue sets its targets against: SQLite touching
# every byte of the columns read, but returning one row per table (no output
# cost). The first for a store with trace_evals, the second for the SDK's
# shape (decisions only in the evaluator steps' output_json).
COUNT_FLOOR_SQL = (
    "SELECT count(*), sum(length(trace_id)), sum(length(created_at)), sum(length(status)) FROM traces; "
    "SELECT count(*), sum(length(trace_id)), sum(length(decision)), sum(length(scores_json)) FROM trace_evals;"
)
SDK_FLOOR_SQL = (
    "SELECT count(*), sum(length(trace_id)), sum(length(created_at)), sum(length(status)) FROM traces; "
    "SELECT count(*), sum(length(trace_id)), sum(length(output_json)) FROM trace_steps "
    "WHERE node_name = 'evaluator';"
)
# What the suite path (--group-by, --segment-by, --metric) reads: the traces'
# segment columns and config, the decisions with their step_seq ...
SUITE_FLOOR_SQL = (
    "SELECT rowid, trace_id, status, created_at, mode, model, provider, config_json FROM traces; "
    "SELECT rowid, trace_id, decision, scores_json, step_seq FROM trace_evals;"
)
# ... and, for cost, latency and tokens, every step's usage (evaluator
# steps' reports too, read in the same pass).
STEPS_FLOOR_SQL = (
    "SELECT rowid, trace_id, tokens, latency_ms, cost_usd, node_name = 'evaluator' COLLATE NOCASE, "
    "CASE WHEN node_name = 'evaluator' COLLATE NOCASE THEN output_json END, step_seq FROM trace_steps;"
)


class CommandFailed(Exception):
    pass


class Bench:
    """One benchmarked command."""

    def __init__(self, key, label, argv, kind):
        self.key = key
        self.label = label
        self.argv = argv
        self.kind = kind  # "traceflow", "baseline", "floor" or "python"
        self.seconds = {}  # round -> wall seconds
        self.rss_kib = {}  # round -> peak RSS (KiB, as GNU time %M reports it)
        self.verdicts = []  # python only: the direction it printed
        self.twin = None  # with --baseline: the same command with the other binary
        self.failure = None  # with --baseline: (when, message) of its first failed run


def run_once(bench, capture_stdout, time_bin):
    """Runs the command once; returns (wall seconds, peak RSS KiB, stdout).

    Peak RSS comes from GNU time's %M, not from os.wait4 on a child of this
    script: Linux carries a process's high-water RSS across exec, so a child
    forked from this Python process reports at least this process's RSS.
    GNU time is small, so what it reports is the command's own peak.
    """
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out, \
            tempfile.NamedTemporaryFile(mode="r", suffix=".time") as timing:
        start = time.perf_counter()
        proc = subprocess.run(
            [time_bin, "-f", "%e %M", "-o", timing.name, *bench.argv],
            stdin=subprocess.DEVNULL,
            stdout=out if capture_stdout else subprocess.DEVNULL,
            stderr=err,
        )
        elapsed = time.perf_counter() - start
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        # GNU time adds a "Command exited with non-zero status" line first.
        lines = timing.read().strip().splitlines()
    code = proc.returncode
    try:
        rss_kib = int(float(lines[-1].split()[1]))
    except (IndexError, ValueError):
        raise CommandFailed(describe_failure(bench, code, stdout, stderr + f"\n(no %M from {time_bin}: {lines})"))
    if bench.kind == "python":
        # proposal_trend.py exits 1 when its verdict is "worsening": that is
        # an answer, not a failure, if it printed its JSON line.
        try:
            verdict = json.loads(stdout.strip().splitlines()[-1])["direction"]
        except (IndexError, ValueError, KeyError, TypeError):
            verdict = None
        if code not in (0, 1) or verdict is None:
            raise CommandFailed(describe_failure(bench, code, stdout, stderr))
        bench.verdicts.append(verdict)
    elif code != 0:
        raise CommandFailed(describe_failure(bench, code, stdout, stderr))
    return elapsed, rss_kib, stdout


def describe_failure(bench, code, stdout, stderr):
    return (
        f"command failed (exit {code}): {' '.join(bench.argv)}\n"
        f"--- stdout (tail) ---\n{stdout[-2000:]}\n--- stderr (tail) ---\n{stderr[-2000:]}"
    )


def capture(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        raise CommandFailed(f"could not run {' '.join(argv)}: {e}") from e


def store_facts(db):
    uri = Path(db).resolve().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as e:
        raise CommandFailed(f"cannot open {db}: {e}") from e
    try:
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("traces", "trace_evals", "trace_steps")
        }
        counts["traces by status"] = ", ".join(
            f"{s} {n:,}"
            for s, n in conn.execute("SELECT status, count(*) FROM traces GROUP BY status ORDER BY status")
        )
    except sqlite3.Error as e:
        raise CommandFailed(f"cannot count rows in {db}: {e}") from e
    finally:
        conn.close()
    return counts


def machine_facts():
    facts = {"nproc": capture(["nproc"])}
    try:
        with open("/proc/cpuinfo") as f:
            models = [l.split(":", 1)[1].strip() for l in f if l.startswith("model name")]
        if models:
            facts["cpu"] = models[0]
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    facts["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    facts["os"] = f"{platform.system()} {platform.release()}"
    return facts


def mb(kib):
    """KiB as MB (10^6 bytes): the larger, conservative number."""
    return kib * 1024 / 1e6


def fmt_s(x):
    return f"{x:.3f}"


def ratio_line(name, num, den):
    """Median over median, and the median of the per-round ratios."""
    if not num.seconds or not den.seconds:
        return f"| {name} | – (failed) | – |"
    m = statistics.median(num.seconds.values()) / statistics.median(den.seconds.values())
    rounds = sorted(set(num.seconds) & set(den.seconds))
    per_round = [num.seconds[r] / den.seconds[r] for r in rounds]
    line = f"| {name} | {m:.3f} |"
    if per_round:
        line += f" {statistics.median(per_round):.3f} (n={len(per_round)}) |"
    else:
        line += " – |"
    return line


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="the TraceFlow Lite store to read")
    ap.add_argument("--traceflow", required=True, help="the traceflow binary (a release build)")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each traceflow and sqlite3 command (default 5)")
    ap.add_argument("--python-repeat", type=int, default=3,
                    help="runs of each proposal_trend.py command, spread over the rounds (default 3)")
    ap.add_argument("--skip-python", action="store_true", help="leave out the proposal's Python")
    ap.add_argument("--proposal", default=str(DEFAULT_PROPOSAL),
                    help="proposal_trend.py (default: ../shared/tools/proposal_trend.py from the repo root)")
    ap.add_argument("--python", default=sys.executable,
                    help="the interpreter for proposal_trend.py (default: the one running this script)")
    ap.add_argument("--sqlite3", default="sqlite3", help="the sqlite3 shell (default: sqlite3 on PATH)")
    ap.add_argument("--time", default="/usr/bin/time",
                    help="GNU time, for each run's peak RSS (default /usr/bin/time)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="unrecorded rounds of the traceflow and sqlite3 commands first, to fill the page cache (default 1)")
    ap.add_argument("--raw", help="also write every run's figures to this JSON file")
    ap.add_argument("--baseline", metavar="BINARY",
                    help="a second traceflow binary (e.g. an earlier commit's release build): every traceflow "
                         "command also runs with it, in the same rounds, and new/baseline ratios are printed")
    a = ap.parse_args()

    if a.repeat < 1 or a.python_repeat < 1 or a.warmup < 0:
        ap.error("--repeat and --python-repeat must be >= 1, --warmup >= 0")
    if a.baseline is not None and not Path(a.baseline).is_file():
        ap.error(f"no baseline binary at {a.baseline}")
    if a.python_repeat > a.repeat and not a.skip_python:
        print(f"note: --python-repeat {a.python_repeat} > --repeat {a.repeat}; using {a.repeat}", file=sys.stderr)
        a.python_repeat = a.repeat
    db = a.db
    if not Path(db).is_file():
        ap.error(f"no such store: {db}")
    def binary(path):
        if os.sep not in path:
            return os.path.join(".", path) if Path(path).exists() else path
        return path

    traceflow = binary(a.traceflow)
    baseline = binary(a.baseline) if a.baseline is not None else None
    if not a.skip_python and not Path(a.proposal).is_file():
        ap.error(f"no proposal_trend.py at {a.proposal} (use --proposal PATH or --skip-python)")

    def tf(window, method="ols"):
        return [traceflow, "trend", "--db", db, "--window", window, "--method", method, "--format", "json"]

    benches = [
        Bench("tf_all", "traceflow trend --window all", tf("all"), "traceflow"),
        Bench("tf_20", "traceflow trend --window 20", tf("20"), "traceflow"),
        Bench("tf_200", "traceflow trend --window 200", tf("200"), "traceflow"),
        # The default method: its statistics (Mann-Kendall, the step test's
        # permutations, segmentation) on top of the same scan.
        Bench("tf_auto_all", "traceflow trend --method auto --window all", tf("all", "auto"), "traceflow"),
        Bench("tf_auto_500", "traceflow trend --method auto (window 500)", tf("500", "auto"), "traceflow"),
        Bench("floor", "sqlite3 floor (traces + trace_evals scan)", [a.sqlite3, db, FLOOR_SQL], "floor"),
        Bench("floor_count", "sqlite3 count floor (traces + trace_evals, summed lengths)",
              [a.sqlite3, db, COUNT_FLOOR_SQL], "floor"),
        Bench("floor_sdk", "sqlite3 SDK floor (traces + evaluator output_json, summed lengths)",
              [a.sqlite3, db, SDK_FLOOR_SQL], "floor"),
        # Pooled runs, segments and every metric (the suite path).
        Bench("tf_day", "traceflow trend --group-by day --window all",
              tf("all", "auto") + ["--group-by", "day"], "traceflow"),
        Bench("tf_day_model", "traceflow trend --group-by day --segment-by model --window all",
              tf("all", "auto") + ["--group-by", "day", "--segment-by", "model"], "traceflow"),
        Bench("tf_day_metrics", "traceflow trend --group-by day --all-metrics --window all",
              tf("all", "auto") + ["--group-by", "day", "--all-metrics"], "traceflow"),
        Bench("tf_day_metrics_model",
              "traceflow trend --group-by day --all-metrics --segment-by model --window all",
              tf("all", "auto") + ["--group-by", "day", "--all-metrics", "--segment-by", "model"],
              "traceflow"),
        Bench("floor_suite", "sqlite3 floor (suite columns of traces + trace_evals)",
              [a.sqlite3, db, SUITE_FLOOR_SQL], "floor"),
        Bench("floor_all", "sqlite3 floor (suite columns + trace_steps usage)",
              [a.sqlite3, db, SUITE_FLOOR_SQL + " " + STEPS_FLOOR_SQL], "floor"),
    ]
    if not a.skip_python:
        for w in ("20", "200"):
            benches.append(Bench(f"py_{w}", f"proposal_trend.py --window {w} --fixed",
                                 [a.python, a.proposal, db, "--window", w, "--fixed"], "python"))
    if baseline is not None:
        # Each traceflow command's twin with the baseline binary, right after
        # it in the list, so that the rotation keeps the two adjacent.
        paired = []
        for b in benches:
            paired.append(b)
            if b.kind == "traceflow":
                assert b.argv[0] == traceflow
                twin = Bench("base_" + b.key, "baseline " + b.label.removeprefix("traceflow "),
                             [baseline, *b.argv[1:]], "baseline")
                b.twin, twin.twin = twin, b
                paired.append(twin)
        benches = paired
    by_key = {b.key: b for b in benches}
    failures = []  # with --baseline: benches whose runs failed, in order

    def run_or_record(b, when, capture_stdout):
        """run_once; with --baseline, a traceflow or baseline command's failure
        is recorded on the bench (which later rounds skip) instead of raised."""
        try:
            return run_once(b, capture_stdout, a.time)
        except CommandFailed as e:
            if baseline is None or b.kind not in ("traceflow", "baseline"):
                raise
            b.failure = (when, str(e))
            failures.append(b)
            print(f"\nFAILED ({when}): {b.label}\n{e}", file=sys.stderr)
            return None

    def units(todo):
        """The rotation's units: a command with its baseline twin, or a command alone."""
        out = []
        for b in todo:
            if b.kind == "baseline":
                continue
            out.append([b, b.twin] if b.twin is not None else [b])
        return out

    # Python runs (slow) are spread evenly over the rounds rather than bunched
    # at the start: with 7 rounds and 3 runs, rounds 0, 2 and 4.
    python_rounds = {i * a.repeat // a.python_repeat for i in range(a.python_repeat)}

    try:
        started = datetime.datetime.now(datetime.timezone.utc)
        facts = machine_facts()
        sqlite_version = capture([a.sqlite3, "--version"])
        traceflow_version = capture([traceflow, "--version"])
        baseline_version = capture([baseline, "--version"]) if baseline is not None else None
        python_version = capture([a.python, "--version"]) if not a.skip_python else None
        print(f"counting rows in {db} ...", file=sys.stderr)
        counts = store_facts(db)
        size_bytes = Path(db).stat().st_size

        # Warm-up: fills the page cache and checks traceflow's output is JSON.
        for w in range(a.warmup):
            for b in benches:
                if b.kind == "python":
                    continue
                if b.failure is not None:
                    continue
                print(f"warm-up {w + 1}/{a.warmup}: {b.label}", file=sys.stderr)
                got = run_or_record(b, f"warm-up {w + 1}", (b.kind in ("traceflow", "baseline")))
                if got is None:
                    continue
                _, _, out = got
                if b.kind in ("traceflow", "baseline"):
                    try:
                        json.loads(out)
                    except ValueError as e:
                        raise CommandFailed(f"{b.label} did not print JSON: {e}") from e

        for r in range(a.repeat):
            todo = units([b for b in benches if b.kind != "python" or r in python_rounds])
            shift = r % len(todo)
            todo = todo[shift:] + todo[:shift]
            # A command and its baseline twin: new first in even rounds,
            # baseline first in odd ones.
            todo = [b for u in todo for b in (u if r % 2 == 0 else u[::-1])]
            for b in todo:
                if b.failure is not None:
                    continue
                print(f"round {r + 1}/{a.repeat}: {b.label} ...", end="", file=sys.stderr, flush=True)
                got = run_or_record(b, f"round {r + 1}", (b.kind == "python"))
                if got is None:
                    continue
                secs, rss, _ = got
                b.seconds[r] = secs
                b.rss_kib[r] = rss
                print(f" {secs:.3f} s, {mb(rss):.1f} MB", file=sys.stderr)
        finished = datetime.datetime.now(datetime.timezone.utc)
    except CommandFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    out = []
    p = out.append
    p("## traceflow trend benchmark")
    p("")
    p(f"- date (UTC): {started:%Y-%m-%d %H:%M:%S} – {finished:%H:%M:%S}")
    p(f"- nproc: {facts['nproc']}" + (f"; cpu: {facts['cpu']}" if "cpu" in facts else "")
      + (f"; memory: {facts['memory']}" if "memory" in facts else "") + f"; {facts['os']}")
    p(f"- sqlite3 --version: {sqlite_version}")
    if baseline is not None:
        p(f"- traceflow (new): {traceflow}, --version: {traceflow_version}")
        p(f"- baseline: {baseline}, --version: {baseline_version}")
    else:
        p(f"- traceflow --version: {traceflow_version}")
    if python_version:
        p(f"- python: {python_version}")
    p(f"- store: {Path(db).name}, {size_bytes:,} bytes; traces {counts['traces']:,} "
      f"({counts['traces by status']}); trace_evals {counts['trace_evals']:,}; trace_steps {counts['trace_steps']:,}")
    p(f"- rounds: {a.repeat} (round-robin, order rotated each round), python in rounds "
      f"{', '.join(str(r + 1) for r in sorted(python_rounds)) if not a.skip_python else '(skipped)'}; "
      f"warm-up rounds (not counted): {a.warmup}")
    p("")
    p("| command | runs | median s | min s | max s | median peak RSS MB | max peak RSS MB |")
    p("|---|---:|---:|---:|---:|---:|---:|")
    for b in benches:
        s = list(b.seconds.values())
        m = list(b.rss_kib.values())
        if not s:
            p(f"| {b.label} | 0 | failed | – | – | – | – |")
            continue
        p(f"| {b.label} | {len(s)} | {fmt_s(statistics.median(s))} | {fmt_s(min(s))} | {fmt_s(max(s))} "
          f"| {mb(statistics.median(m)):.1f} | {mb(max(m)):.1f} |")
    p("")
    p("MB = 10^6 bytes (GNU time %M KiB × 1024 / 10^6). Wall time includes process start-up.")
    p("")
    p("| ratio (wall time) | median / median | median of per-round ratios |")
    p("|---|---:|---:|")
    p(ratio_line("traceflow all / sqlite3 floor", by_key["tf_all"], by_key["floor"]))
    p(ratio_line("traceflow auto all / sqlite3 floor", by_key["tf_auto_all"], by_key["floor"]))
    p(ratio_line("traceflow all / count floor", by_key["tf_all"], by_key["floor_count"]))
    p(ratio_line("traceflow auto all / count floor", by_key["tf_auto_all"], by_key["floor_count"]))
    p(ratio_line("traceflow all / SDK floor", by_key["tf_all"], by_key["floor_sdk"]))
    p(ratio_line("traceflow auto all / traceflow ols all", by_key["tf_auto_all"], by_key["tf_all"]))
    p(ratio_line("traceflow by day / suite floor", by_key["tf_day"], by_key["floor_suite"]))
    p(ratio_line("traceflow by day and model / suite floor", by_key["tf_day_model"], by_key["floor_suite"]))
    p(ratio_line("traceflow by day, every metric / suite + steps floor", by_key["tf_day_metrics"], by_key["floor_all"]))
    if not a.skip_python:
        for w in ("20", "200"):
            p(ratio_line(f"traceflow window {w} / proposal_trend.py window {w}", by_key[f"tf_{w}"], by_key[f"py_{w}"]))
        p("")
        for w in ("20", "200"):
            py, t = by_key[f"py_{w}"], by_key[f"tf_{w}"]
            speedup = statistics.median(py.seconds.values()) / statistics.median(t.seconds.values())
            p(f"- proposal_trend.py window {w} is {speedup:.1f}× slower than traceflow window {w} "
              f"(median over median); its verdicts: {', '.join(py.verdicts)}")
    if baseline is not None:
        p("")
        p("### new against baseline")
        p("")
        p("Per command: both binaries in the same rounds (adjacent, order alternating by round). "
          "Ratio = new / baseline wall time within a round; < 1 means the new binary is faster.")
        p("")
        p("| command | rounds | new median s | baseline median s | median of per-round ratios | "
          "min – max ratio | new median peak RSS MB | baseline median peak RSS MB | RSS ratio (medians) |")
        p("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for b in benches:
            if b.kind != "traceflow":
                continue
            t = b.twin
            label = b.label.removeprefix("traceflow ")
            rounds = sorted(set(b.seconds) & set(t.seconds))
            if not rounds:
                p(f"| {label} | 0 | {'failed' if b.failure else fmt_s(statistics.median(b.seconds.values()))} "
                  f"| {'failed' if t.failure else fmt_s(statistics.median(t.seconds.values()))} | – | – | – | – | – |")
                continue
            ratios = [b.seconds[r] / t.seconds[r] for r in rounds]
            rss_new = statistics.median(b.rss_kib[r] for r in rounds)
            rss_base = statistics.median(t.rss_kib[r] for r in rounds)
            p(f"| {label} | {len(rounds)} | {fmt_s(statistics.median(b.seconds[r] for r in rounds))} "
              f"| {fmt_s(statistics.median(t.seconds[r] for r in rounds))} | {statistics.median(ratios):.3f} "
              f"| {min(ratios):.3f} – {max(ratios):.3f} | {mb(rss_new):.1f} | {mb(rss_base):.1f} "
              f"| {rss_new / rss_base:.3f} |")
        if failures:
            p("")
            p("Failed (left out of later rounds):")
            p("")
            for b in failures:
                when, msg = b.failure
                other = b.twin
                state = ("also failed" if other.failure else f"ran in {len(other.seconds)} rounds")
                p(f"- {b.label} ({when}); the other binary {state}:")
                p("")
                p("```")
                p(msg)
                p("```")
    p("")
    p("Per-round wall times (s):")
    p("")
    p("| command | " + " | ".join(f"r{r + 1}" for r in range(a.repeat)) + " |")
    p("|---|" + "---:|" * a.repeat)
    for b in benches:
        p(f"| {b.label} | " + " | ".join(fmt_s(b.seconds[r]) if r in b.seconds else "–" for r in range(a.repeat)) + " |")
    print("\n".join(out))

    if a.raw:
        raw = {
            "started": started.isoformat(), "finished": finished.isoformat(), "machine": facts,
            "sqlite3": sqlite_version, "traceflow": traceflow_version, "python": python_version,
            "baseline": ({"binary": baseline, "version": baseline_version} if baseline is not None else None),
            "store": {"name": Path(db).name, "bytes": size_bytes, **counts},
            "runs": {b.key: {"label": b.label, "argv": b.argv,
                             "seconds": {str(r): v for r, v in b.seconds.items()},
                             "peak_rss_kib": {str(r): v for r, v in b.rss_kib.items()},
                             "verdicts": b.verdicts,
                             "failure": (list(b.failure) if b.failure else None)} for b in benches},
        }
        Path(a.raw).write_text(json.dumps(raw, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
