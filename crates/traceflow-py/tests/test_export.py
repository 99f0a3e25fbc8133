"""Reports written to a file: `report.to_json(path)` and the other
renderings given a path write what they return without one, as the
command's `--output` writes it (never over the store, never half a
report), and a file the system refuses is the OSError `open` raises."""

import errno
import os
import select
import shutil
import signal
import sqlite3
import stat
import subprocess
import textwrap
import time

import pytest

from conftest import FIXTURES, python

import traceflow
from traceflow import InvalidArgumentError, TraceTrendAnalyzer

RENDERINGS = ["to_json", "to_markdown", "to_html", "to_junit"]


def reports(store):
    return {
        "trace": TraceTrendAnalyzer(store).analyze(window="all"),
        "suite": traceflow.trend(store, window="all", metrics="all"),
        "cases": traceflow.cases(FIXTURES / "cases.db", window="all"),
        "compare": traceflow.compare(FIXTURES / "cases.db", window="all"),
    }


@pytest.mark.parametrize("rendering", RENDERINGS)
@pytest.mark.parametrize("kind", ["trace", "suite", "cases", "compare"])
def test_a_rendering_given_a_path_writes_what_it_returns(tmp_path, kind, rendering):
    report = reports(FIXTURES / "step.db")[kind]
    out = tmp_path / "report.out"
    assert getattr(report, rendering)(out) is None
    assert out.read_text(encoding="utf-8") == getattr(report, rendering)()
    # A str path too, and a file replaced keeps its mode.
    os.chmod(out, 0o640)
    assert getattr(report, rendering)(str(out)) is None
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    assert out.read_text(encoding="utf-8") == getattr(report, rendering)()
    assert os.listdir(tmp_path) == ["report.out"]


@pytest.mark.parametrize("companion", ["", "-wal", "-journal"])
def test_a_report_is_never_written_over_the_store(tmp_path, companion):
    store = tmp_path / "store.db"
    shutil.copy(FIXTURES / "step.db", store)
    report = TraceTrendAnalyzer(store).analyze(window="all")
    # A companion as SQLite leaves one beside a store being written.
    target = tmp_path / f"store.db{companion}"
    if companion:
        target.write_bytes(b"companion")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for spelling in [target, str(target), tmp_path / "." / target.name]:
        with pytest.raises(InvalidArgumentError, match="is the store's file") as raised:
            report.to_json(spelling)
        assert isinstance(raised.value, ValueError)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_store_open_in_this_process_is_guarded_though_a_copy_was_read(tmp_path):
    # TraceFlow Lite's TraceStore holds the file open: the package reads a
    # snapshot copy of it, and the report still knows the store's own file.
    store = tmp_path / "store.db"
    shutil.copy(FIXTURES / "step.db", store)
    before = store.read_bytes()

    class TraceStore:
        def __init__(self, path):
            self.conn = sqlite3.connect(path)

    held = TraceStore(store)
    for report in [
        TraceTrendAnalyzer(held).analyze(window="all"),
        traceflow.trend(held, window="all"),
        traceflow.cases(held, window="all"),
        traceflow.compare(held, window="all"),
    ]:
        with pytest.raises(InvalidArgumentError, match="is the store's file"):
            report.to_html(store)
    held.conn.close()
    assert store.read_bytes() == before


def test_the_store_stays_guarded_after_the_process_changes_directory(tmp_path, monkeypatch):
    # Read by a relative name; written after a chdir, by its absolute one.
    store = tmp_path / "store.db"
    shutil.copy(FIXTURES / "step.db", store)
    before = store.read_bytes()
    monkeypatch.chdir(tmp_path)
    report = traceflow.trend("store.db", window="all")
    monkeypatch.chdir("/")
    for target in [store, tmp_path / "store.db-wal"]:
        with pytest.raises(InvalidArgumentError, match="is the store's file"):
            report.to_json(target)
    assert store.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["store.db"]


def test_a_file_the_system_refuses_is_the_oserror_open_raises(tmp_path):
    report = TraceTrendAnalyzer(FIXTURES / "step.db").analyze(window="all")
    missing = tmp_path / "no-such-dir" / "report.json"
    with pytest.raises(FileNotFoundError) as raised:
        report.to_json(missing)
    # As open() raises it: the code, the system's words, the file.
    assert raised.value.errno == errno.ENOENT
    assert raised.value.filename == str(missing)
    assert str(raised.value) == f"[Errno {errno.ENOENT}] {os.strerror(errno.ENOENT)}: {str(missing)!r}"
    assert not isinstance(raised.value, traceflow.TraceflowError)
    with pytest.raises(IsADirectoryError) as raised:
        report.to_json(tmp_path)
    assert raised.value.errno == errno.EISDIR
    # Paths as open() takes them: bytes too; a NUL is a ValueError.
    out = tmp_path / "report.json"
    assert report.to_json(os.fsencode(out)) is None
    assert out.read_text(encoding="utf-8") == report.to_json()
    with pytest.raises(ValueError, match="embedded null byte"):
        report.to_json(f"{tmp_path}/a\0b")
    with pytest.raises(TypeError):
        report.to_json(42)


def test_ctrl_c_interrupts_a_write_that_blocks_and_abandons_it(tmp_path):
    # A FIFO nobody reads: opening it to write waits for a reader.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    script = textwrap.dedent(
        f"""
        import sys, time
        from traceflow import TraceTrendAnalyzer
        report = TraceTrendAnalyzer({str(FIXTURES / "step.db")!r}).analyze(window="all")
        print("ready", flush=True)
        started = time.monotonic()
        try:
            report.to_json({str(fifo)!r})
        except KeyboardInterrupt:
            print(f"interrupted after {{time.monotonic() - started:.2f}}", flush=True)
            sys.stdin.readline()  # until the test has read the FIFO
            sys.exit(130)
        print("finished", flush=True)
        """
    )
    child = subprocess.Popen(
        [python(), "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    # A write Ctrl-C cannot stop would block here: fail instead.
    ready, _, _ = select.select([child.stdout], [], [], 10)
    if not ready:
        child.kill()
        pytest.fail("Ctrl-C did not interrupt the write")
    line = child.stdout.readline()
    assert line.startswith("interrupted after"), line + child.stderr.read()
    assert float(line.split()[-1]) < 2.5, line
    # A reader now lets the abandoned write's open go on: it writes nothing.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    time.sleep(1)  # time for a write that was not stopped to arrive
    try:
        got = os.read(reader, 1 << 20)
    except BlockingIOError:  # the writer holds it open, has written nothing
        got = b""
    os.close(reader)
    out, err = child.communicate("\n", timeout=10)
    assert child.returncode == 130, (out, err)
    assert got == b""
