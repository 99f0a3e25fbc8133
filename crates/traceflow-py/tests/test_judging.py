"""A verdict of too little data is never a silent pass: it warns
(``TraceflowWarning``, with the numbers and what would fix them in
Python's words), the reports say so (``insufficient_data``), the window
defaults to the command's, and the README's snippet judges."""

import re
import shutil
import warnings

import pytest

from conftest import FIXTURES, REPO, write_store

import traceflow
from traceflow import TraceflowWarning, TraceTrendAnalyzer
from traceflow._traceflow import cli_main

SDK = FIXTURES / "tfl-sdk"


@pytest.fixture(params=["main.db", "wal/traceflow.db", "demo"])
def short_of_data_at_10(request, tmp_path, capfd):
    """The stores the issue names, copied (the SDK's fixtures are read, never
    written; the `-wal` goes with its `.db`), each with runs of 1–3
    decisions."""
    if request.param == "demo":
        path = tmp_path / "demo.db"
        assert cli_main(["traceflow", "demo", "--db", str(path)]) == 0
        capfd.readouterr()
        return path
    source = SDK / request.param
    path = tmp_path / source.name
    shutil.copy(source, path)
    wal = source.with_name(source.name + "-wal")
    if wal.exists():
        shutil.copy(wal, path.with_name(path.name + "-wal"))
    return path


def test_too_little_data_warns_with_the_numbers_in_pythons_words(short_of_data_at_10):
    with pytest.warns(TraceflowWarning) as caught:
        report = TraceTrendAnalyzer(short_of_data_at_10).analyze(window=10)
    assert report.verdict == "insufficient_data"
    assert report.insufficient_data is True
    assert report.any_regression is False
    assert "insufficient_data=True" in repr(report)
    [warning] = caught
    message = str(warning.message)
    assert re.search(r"10 runs with \d+ decisions \(at least 8 runs and 30 decisions are needed\)", message), message
    assert "to fix: widen the window (window=...)" in message, message
    assert "--" not in message, message
    # Attributed to the caller's line, not the package's.
    assert warning.filename == __file__
    assert issubclass(TraceflowWarning, UserWarning)


def test_a_judged_report_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = TraceTrendAnalyzer(FIXTURES / "step.db").analyze(window="all")
    assert report.verdict == "regression"
    assert report.insufficient_data is False


def test_the_warning_can_be_made_an_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TraceflowWarning)
        with pytest.raises(TraceflowWarning, match="Too little data to judge"):
            TraceTrendAnalyzer(FIXTURES / "drift.db").analyze(window=5)


def test_the_suite_and_the_gate_say_so_too():
    store = FIXTURES / "drift.db"
    with pytest.warns(TraceflowWarning, match=r"Too little data to judge pass-rate \(5 runs") as caught:
        report = traceflow.trend(store, window=5)
    assert caught[0].filename == __file__
    assert report.insufficient_data and not report.any_regression
    assert "insufficient_data=True" in repr(report)
    with pytest.warns(TraceflowWarning, match="window=") as caught:
        result = traceflow.gate(store, window=5)
    assert caught[0].filename == __file__
    assert result.outcome == "too_little_data" and result.passed
    assert result.insufficient_data and result.report.insufficient_data
    with pytest.warns(TraceflowWarning):
        assert traceflow.gate(store, window=5, require_data=True).exit_code == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        judged = traceflow.gate(FIXTURES / "step.db", window="all")
    assert judged.outcome == "regression" and not judged.insufficient_data


def test_a_comparison_of_too_little_data_warns_and_says_so():
    with pytest.warns(TraceflowWarning, match=r"Too little data to compare: .*-33\.3 points") as caught:
        report = traceflow.compare(FIXTURES / "drift.db", window=4)
    assert caught[0].filename == __file__
    assert "insufficient_data is True" in str(caught[0].message)
    assert report.verdict == "insufficient_data"
    assert report.insufficient_data is True and report.any_regression is False
    assert "insufficient_data=True" in repr(report)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        judged = traceflow.compare(FIXTURES / "cases.db", window="all")
    assert judged.insufficient_data is False


def test_analyze_without_a_window_takes_the_commands(capfd):
    """`traceflow gate` without --window: 500 runs for auto, 20 for ols."""
    store = FIXTURES / "drift.db"
    report = TraceTrendAnalyzer(store).analyze()
    assert report.requested_window == 500
    assert report.window == 60
    assert TraceTrendAnalyzer(store, method="ols").analyze().requested_window == 20
    assert cli_main(["traceflow", "trend", "--db", str(store), "--format", "json"]) == 0
    import json

    assert report.to_dict() == json.loads(capfd.readouterr().out)


def readme_snippet() -> str:
    """The Python block of the README's "From Python" section."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## From Python") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


class TraceStoreLike:
    def __init__(self, path):
        import sqlite3

        self.conn = sqlite3.connect(path)


def test_the_readmes_snippet_judges(short_of_data_at_10, tmp_path):
    """It fails on the stores whose gate fails (a regression over 500 runs,
    or too little data), and passes on one with enough data and no
    change."""
    snippet = readme_snippet()
    with pytest.raises(SystemExit), warnings.catch_warnings():
        warnings.simplefilter("ignore", TraceflowWarning)
        exec(snippet, {"store": TraceStoreLike(short_of_data_at_10)})
    steady = write_store(tmp_path / "steady.db", [["pass"] * 19 + ["revise"]] * 120)
    namespace = {"store": TraceStoreLike(steady)}
    exec(snippet, namespace)
    assert namespace["report"].verdict == "stable"
