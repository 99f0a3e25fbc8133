"""Behaving in a Python process: the GIL is released while an analysis
runs, analyses from several threads at once agree with one at a time,
Ctrl-C interrupts a long analysis, and the library prints nothing."""

import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ANALYZABLE, FIXTURES, python

from traceflow import TraceflowWarning, TraceTrendAnalyzer


def test_threads_at_once_agree_with_one_at_a_time():
    jobs = [(name, window) for name in ANALYZABLE for window in (20, "all")] * 3
    alone = {job: TraceTrendAnalyzer(FIXTURES / f"{job[0]}.db").analyze(window=job[1]).to_json() for job in set(jobs)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(
            pool.map(lambda job: TraceTrendAnalyzer(FIXTURES / f"{job[0]}.db").analyze(window=job[1]).to_json(), jobs)
        )
    assert together == [alone[job] for job in jobs]


def test_other_threads_run_while_an_analysis_waits(locked_store):
    """Another process holds the store's lock for 1.5 s: the analysis waits
    for it, and this thread counts meanwhile only if the GIL was let go."""
    path, hold = locked_store
    hold(1.5)
    result = {}

    def analyze():
        started = time.monotonic()
        result["report"] = TraceTrendAnalyzer(path).analyze(window=20)
        result["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=analyze)
    worker.start()
    ticks = 0
    while worker.is_alive():
        ticks += 1
        time.sleep(0.01)
    assert result["report"].window == 20
    assert 1.0 < result["seconds"] < 4.5, result
    # About 100 ticks a second while the analysis waited.
    assert ticks > 50, ticks


def test_ctrl_c_interrupts_a_long_analysis(locked_store):
    path, hold = locked_store
    hold(4)
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
    assert child.returncode == 130, (out, err)
    seconds = float(out.split()[-1])
    # The lock is held for 4 s.
    assert seconds < 2.5, out


def test_a_store_this_process_has_open_keeps_its_locks(tmp_path):
    """TraceFlow Lite's TraceStore in the same process holds a write lock:
    the analysis reads, and the lock is still held afterwards (another
    process still cannot write). traceflow's own SQLite closing the file
    would release every lock this process has on it."""
    path = tmp_path / "held.db"
    shutil.copy(FIXTURES / "drift.db", path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE traces SET mode = mode")

    class TraceStore:
        pass

    store = TraceStore()
    store.conn = conn
    for given in (store, path):
        assert TraceTrendAnalyzer(given).analyze(window="all").window == 60
        other = subprocess.run(
            ["sqlite3", str(path), ".timeout 100", "BEGIN IMMEDIATE; COMMIT;"], capture_output=True, text=True, check=False
        )
        assert "locked" in other.stderr, (given, other)
    conn.execute("COMMIT")
    conn.close()


def test_the_library_prints_nothing(capfd):
    # Too little data is said through `warnings`, which the caller
    # controls (here pytest records it), never printed by the library.
    with pytest.warns(TraceflowWarning):
        report = TraceTrendAnalyzer(FIXTURES / "bad_rows.db").analyze(window="all")
    assert report.skipped_rows  # a store with rows to warn about
    report.to_json()
    report.summaries
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def _descriptors_of(path) -> int:
    """How many descriptors this process has open on `path` (Linux)."""
    import os

    want = os.stat(path)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            st = os.stat(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino)
    return count


def test_traceflows_own_reading_is_no_reason_to_copy_the_store(locked_store, monkeypatch):
    """Another thread's analysis has the file open: this one reads the file
    too, not a copy of it (only Python's sqlite3 connections call for one:
    each copy was the whole store). A Python connection opened meanwhile
    still does."""
    import tempfile

    path, hold = locked_store
    copies = []
    made = tempfile.TemporaryDirectory

    def recorded(*args, **kwargs):
        copies.append(kwargs.get("prefix"))
        return made(*args, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryDirectory", recorded)
    for python_too in (False, True):
        hold(1.5)
        with ThreadPoolExecutor(max_workers=1) as pool:
            other = pool.submit(lambda: TraceTrendAnalyzer(path).analyze(window=20))
            # The other analysis waits for the lock with the file open.
            deadline = time.monotonic() + 5
            while _descriptors_of(path) == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _descriptors_of(path) > 0
            conn = sqlite3.connect(path) if python_too else None
            assert TraceTrendAnalyzer(path).analyze(window=20).window == 20
            assert other.result().window == 20
            if conn is not None:
                conn.close()
        assert copies == (["traceflow-"] if python_too else []), python_too


def _long_store(path, runs: int):
    """A store of `runs` traces of one decision each, a second apart."""
    from datetime import datetime, timedelta, timezone

    from conftest import write_store

    write_store(path, [])
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ids = [f"{i:032x}" for i in range(runs)]
    times = [(start + timedelta(seconds=i)).isoformat() for i in range(runs)]
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at)"
        " VALUES (?, 'done', 'triage_plan', 'q', '{}', 'gpt-4o-mini', 'openai', ?)",
        zip(ids, times),
    )
    conn.executemany(
        "INSERT INTO trace_evals (trace_id, step_seq, decision, created_at) VALUES (?, 0, 'pass', ?)",
        zip(ids, times),
    )
    conn.commit()
    conn.close()
    return path


def test_other_threads_run_while_a_long_report_becomes_python_objects(tmp_path):
    """A report of many runs converted to Python objects (its rows, its
    dict): another thread keeps running meanwhile, not only once the whole
    conversion is done."""
    report = TraceTrendAnalyzer(_long_store(tmp_path / "long.db", 200_000)).analyze(window="all")
    for convert in (lambda: report.summaries, report.to_dict):
        ticks = []
        done = threading.Event()

        def tick():
            while not done.is_set():
                ticks.append(time.perf_counter())
                time.sleep(0.001)

        ticker = threading.Thread(target=tick)
        ticker.start()
        time.sleep(0.05)
        started = time.perf_counter()
        convert()
        ended = time.perf_counter()
        done.set()
        ticker.join()
        during = [t for t in ticks if started < t < ended]
        # Held throughout, the GIL would let the ticker run not once during
        # the conversion; how often it runs when released depends on the
        # machine's load, so no timing is asserted.
        assert len(during) >= 2, (len(during), ended - started)
