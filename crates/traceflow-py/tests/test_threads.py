"""Behaving in a Python process: the GIL is released while an analysis
runs, analyses from several threads at once agree with one at a time,
Ctrl-C interrupts a long analysis, and the library prints nothing."""

import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import ANALYZABLE, FIXTURES, python

from traceflow import TraceTrendAnalyzer


def test_threads_at_once_agree_with_one_at_a_time():
    jobs = [(name, window) for name in ANALYZABLE for window in (20, "all")] * 3
    alone = {job: TraceTrendAnalyzer(FIXTURES / f"{job[0]}.db").analyze(window=job[1]).to_json() for job in set(jobs)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(
            pool.map(lambda job: TraceTrendAnalyzer(FIXTURES / f"{job[0]}.db").analyze(window=job[1]).to_json(), jobs)
        )
    assert together == [alone[job] for job in jobs]


def test_other_threads_run_while_an_analysis_waits(locked_store):
    """The analysis waits for a lock that only this thread can release: it
    finishes early only if the GIL was let go while it waited."""
    path, conn = locked_store
    conn.execute("BEGIN EXCLUSIVE")
    result = {}

    def analyze():
        started = time.monotonic()
        result["report"] = TraceTrendAnalyzer(path).analyze()
        result["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=analyze)
    worker.start()
    time.sleep(0.5)
    conn.execute("COMMIT")
    worker.join(timeout=10)
    assert result["report"].window == 20
    # Released at 0.5 s, well before the 5 s the reader would wait.
    assert result["seconds"] < 4, result


def test_ctrl_c_interrupts_a_long_analysis(locked_store):
    path, conn = locked_store
    conn.execute("BEGIN EXCLUSIVE")
    script = textwrap.dedent(
        f"""
        import sys, time
        from traceflow import TraceTrendAnalyzer
        print("ready", flush=True)
        started = time.monotonic()
        try:
            TraceTrendAnalyzer({str(path)!r}).analyze()
        except KeyboardInterrupt:
            print(f"interrupted after {{time.monotonic() - started:.2f}}", flush=True)
            sys.exit(130)
        print("finished", flush=True)
        """
    )
    child = subprocess.Popen([python(), "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=10)
    conn.execute("COMMIT")
    assert child.returncode == 130, (out, err)
    seconds = float(out.split()[-1])
    # The reader would have waited 5 s for the lock.
    assert seconds < 3, out


def test_the_library_prints_nothing(capfd):
    report = TraceTrendAnalyzer(FIXTURES / "bad_rows.db").analyze(window="all")
    assert report.skipped_rows  # a store with rows to warn about
    report.to_json()
    report.summaries
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
