"""The proposal's API, exactly: names, attributes, the rule, and its CI
snippet run verbatim, against an independent reference's results on the
fixture stores (tests/fixtures/expected, written by reference_trend.py)."""

import json
import math
import os
import re
import sqlite3
import pytest

from conftest import ANALYZABLE, FIXTURES, write_store

import traceflow
from traceflow import TraceRunSummary, TraceTrendAnalyzer, TraceTrendReport


def expected(name: str, window: str) -> dict:
    return json.loads((FIXTURES / "expected" / f"{name}.w{window}.json").read_text())


@pytest.mark.parametrize("name", ANALYZABLE)
@pytest.mark.parametrize("window", [20, "all"])
def test_the_ols_rule_matches_the_reference(name, window):
    want = expected(name, str(window))
    report = TraceTrendAnalyzer(FIXTURES / f"{name}.db", regression_threshold=0.01, method="ols").analyze(
        window=window
    )
    assert isinstance(report, TraceTrendReport)
    assert report.window == len(want["summaries"])
    assert math.isclose(report.pass_rate_slope, want["pass_rate_slope"], rel_tol=0, abs_tol=1e-12)
    assert report.pass_rate_direction == want["pass_rate_direction"]
    assert report.any_regression == want["any_regression"]
    assert report.left_out_running == want["left_out_running"]
    for got, row in zip(report.summaries, want["summaries"]):
        assert isinstance(got, TraceRunSummary)
        assert got.run_index == row["run_index"]
        assert got.trace_id == row["trace_id"]
        for field in ["pass_rate", "revise_rate", "fallback_rate"]:
            assert math.isclose(getattr(got, field), row[field], abs_tol=1e-12), field
        if row["avg_score"] is None:
            assert got.avg_score is None
        else:
            assert math.isclose(got.avg_score, row["avg_score"], abs_tol=1e-12)
        assert got.decisions == row["decisions"]
        assert got.source == row["source"]
        assert got.created_at.tzinfo is not None
        assert got.created_at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("name", ANALYZABLE)
def test_the_default_is_the_commands_verdict(name, capfd):
    """method="auto" by default: the same report, field for field, as
    `traceflow trend --window 20 --format json`."""
    from traceflow._traceflow import cli_main

    code = cli_main(["traceflow", "trend", "--db", str(FIXTURES / f"{name}.db"), "--window", "20", "--format", "json"])
    assert code == 0
    command = json.loads(capfd.readouterr().out)
    report = TraceTrendAnalyzer(FIXTURES / f"{name}.db").analyze(window=20)
    assert report.method == "auto"
    assert report.to_dict() == command
    assert report.statistics == command["statistics"]
    assert report.verdict == command["statistics"]["verdict"]
    assert [s.to_dict() for s in report.summaries] == command["summaries"]


def test_window_is_the_commands_by_default_and_all_takes_every_run():
    analyzer = TraceTrendAnalyzer(str(FIXTURES / "drift.db"))
    assert analyzer.analyze().requested_window == 500
    assert analyzer.analyze(window=None).requested_window == 500
    assert analyzer.analyze(window="all").window == 60
    assert analyzer.analyze(window="all").requested_window == "all"
    assert analyzer.analyze(window=7).requested_window == 7


def test_a_tracestore_object_is_read_through_its_connection(tmp_path):
    """TraceFlow Lite's TraceStore keeps no path, only `conn`."""

    class TraceStore:  # the SDK's shape: a sqlite3 connection, no path
        def __init__(self, path):
            self.conn = sqlite3.connect(path)
            self.conn.row_factory = sqlite3.Row

    store = TraceStore(FIXTURES / "step.db")
    by_object = TraceTrendAnalyzer(store).analyze(window="all")
    by_path = TraceTrendAnalyzer(FIXTURES / "step.db").analyze(window="all")
    assert by_object.to_json() == by_path.to_json()
    # A bare connection works too; an in-memory one cannot be shared.
    assert TraceTrendAnalyzer(store.conn).analyze(window=20).window == 20
    with pytest.raises(ValueError, match="in-memory"):
        TraceTrendAnalyzer(sqlite3.connect(":memory:")).analyze()
    with pytest.raises(ValueError, match="got 'int'"):
        TraceTrendAnalyzer(42).analyze()


def test_fewer_than_two_traces_is_a_value_error():
    for method in ["auto", "ols"]:
        with pytest.raises(ValueError, match="need at least 2 finished traces, found 1"):
            TraceTrendAnalyzer(FIXTURES / "one_trace.db", method=method).analyze()


def proposal_snippet() -> str:
    """The proposal's "CI gate integration" block, as the document has it
    (kept verbatim in tests/fixtures/proposal/ci_gate.py)."""
    snippet = (FIXTURES / "proposal" / "ci_gate.py").read_text()
    assert snippet.startswith("analyzer = TraceTrendAnalyzer(store, regression_threshold=0.02)")
    return snippet


def test_the_proposals_ci_snippet_runs_verbatim(tmp_path):
    """Its last 10 runs fall from 95% to 40% passes (20 decisions each):
    the default verdict calls it, and the snippet exits with its message;
    on a stable store it passes."""
    snippet = proposal_snippet()
    falling = write_store(
        tmp_path / "falling.db",
        [["pass"] * 19 + ["revise"]] * 5 + [["pass"] * 8 + ["revise"] * 12] * 5,
    )
    for path, fails in [(falling, True), (FIXTURES / "stable.db", False)]:
        namespace = {"store": TraceStoreLike(path)}
        exec("from traceflow import TraceTrendAnalyzer", namespace)
        if fails:
            with pytest.raises(SystemExit, match=r"^Eval regression detected: -0\.\d{3}/run$"):
                exec(snippet, namespace)
        else:
            exec(snippet, namespace)
        assert namespace["report"].window == 10


class TraceStoreLike:
    """TraceFlow Lite's TraceStore as far as traceflow sees it: `conn`."""

    def __init__(self, path):
        self.conn = sqlite3.connect(path)


def test_reports_and_rows_are_frozen():
    report = TraceTrendAnalyzer(FIXTURES / "drift.db").analyze(window=20)
    with pytest.raises(AttributeError):
        report.window = 3
    row = report.summaries[0]
    with pytest.raises(AttributeError):
        row.pass_rate = 0.5
    # The list handed out is a copy.
    report.summaries.clear()
    assert len(report.summaries) == 20
    assert row == report.summaries[0]
    assert "TraceRunSummary(run_index=0" in repr(row)


def test_renderings_are_the_commands_exporters(capfd):
    from traceflow._traceflow import cli_main

    report = TraceTrendAnalyzer(FIXTURES / "step.db").analyze(window="all")
    for fmt, text in [
        ("markdown", report.to_markdown()),
        ("html", report.to_html()),
        ("junit", report.to_junit()),
        ("table", str(report)),
    ]:
        code = cli_main(
            ["traceflow", "trend", "--db", str(FIXTURES / "step.db"), "--window", "all", "--format", fmt]
            # The command's table shows the newest runs unless asked for
            # all; a report's str is the whole table.
            + (["--runs", "all"] if fmt == "table" else [])
        )
        assert code == 0
        assert capfd.readouterr().out == text, fmt


def test_to_pandas_gives_the_rows_when_pandas_is_installed():
    try:
        import pandas
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("needs pandas")
    frame = TraceTrendAnalyzer(FIXTURES / "drift.db").analyze(window=20).to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame["run_index"]) == list(range(20))
    assert str(frame["created_at"].dtype).startswith("datetime64")


def test_the_package_says_its_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", traceflow.__version__)


def test_to_pandas_takes_instants_with_and_without_a_fraction(tmp_path):
    """The first run's time has a fraction of a second, the others none:
    pandas' parsing of the text by the first row's format refused them."""
    pandas = pytest.importorskip("pandas") if not os.environ.get("CI") else __import__("pandas")
    path = write_store(tmp_path / "mixed.db", [["pass"] * 3] * 10)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE traces SET created_at = '2026-03-01T00:00:00.250000+00:00' WHERE rowid = 1")
    conn.commit()
    conn.close()
    report = TraceTrendAnalyzer(path).analyze(window="all")
    frame = report.to_pandas()
    assert str(frame["created_at"].dtype).startswith("datetime64")
    assert list(frame["created_at"]) == [pandas.Timestamp(s.created_at) for s in report.summaries]
    assert frame["created_at"][0].microsecond == 250000
