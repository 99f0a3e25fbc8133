"""Reports written to a file: `report.to_json(path)` and the other
renderings given a path write what they return without one, as the
command's `--output` writes it (never over the store, never half a
report), and a file the system refuses is the OSError `open` raises."""

import os
import shutil
import sqlite3
import stat

import pytest

from conftest import FIXTURES

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


def test_a_file_the_system_refuses_is_the_oserror_open_raises(tmp_path):
    report = TraceTrendAnalyzer(FIXTURES / "step.db").analyze(window="all")
    missing = tmp_path / "no-such-dir" / "report.json"
    with pytest.raises(FileNotFoundError) as raised:
        report.to_json(missing)
    message = str(raised.value)
    assert str(missing) in message and "\n" not in message
    assert not isinstance(raised.value, traceflow.TraceflowError)
    with pytest.raises(IsADirectoryError):
        report.to_json(tmp_path)
    with pytest.raises(TypeError):
        report.to_json(42)
