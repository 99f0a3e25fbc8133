"""`traceflow.trend` and `traceflow.gate`: the command's `trend` and `gate`
with their options as keywords, the same reports and exit codes."""

import json
from datetime import datetime, timezone

import pytest

from conftest import FIXTURES

import traceflow
from traceflow._traceflow import cli_main


def command_json(capfd, *args):
    code = cli_main(["traceflow", "trend", *args, "--format", "json"])
    assert code == 0
    return json.loads(capfd.readouterr().out)


@pytest.mark.parametrize(
    ("kwargs", "args"),
    [
        (
            {"group_by": "day", "metrics": "all", "segment_by": "model", "window": "all"},
            ["--group-by", "day", "--all-metrics", "--segment-by", "model", "--window", "all"],
        ),
        ({"metrics": ["fallback_rate", "cost"], "window": 30}, ["--metric", "fallback-rate", "--metric", "cost", "--window", "30"]),
        ({"group_by": "hour", "method": "ols"}, ["--group-by", "hour", "--method", "ols"]),
        (
            {"since": datetime(2026, 1, 1, 12, tzinfo=timezone.utc), "until": "2026-01-03T00:00:00Z"},
            # The command's suite of the pass rate over traces: a metric asked
            # for (bounds alone keep the pass rate's own report).
            ["--since", "2026-01-01T12:00:00Z", "--until", "2026-01-03T00:00:00Z", "--metric", "pass-rate"],
        ),
    ],
)
def test_trend_is_the_commands_suite_report(capfd, kwargs, args):
    store = FIXTURES / "drift.db"
    report = traceflow.trend(store, **kwargs)
    assert isinstance(report, traceflow.SuiteReport)
    assert report.to_dict() == command_json(capfd, "--db", str(store), *args)
    assert report.reports == report.to_dict()["reports"]
    assert [v for _, _, v in report.verdicts] == [r["statistics"]["verdict"] for r in report.reports]


def test_cases_are_judged_within_their_input(capfd):
    store = FIXTURES / "cases.db"
    report = traceflow.trend(store, case_by="input", window="all")
    assert report.to_dict() == command_json(capfd, "--db", str(store), "--case-by", "input", "--window", "all")
    assert report.reports[0]["statistics"]["within_cases"] is not None


@pytest.mark.parametrize(
    ("name", "kwargs", "args", "code"),
    [
        ("stable.db", {}, [], 0),
        ("step.db", {"window": "all"}, ["--window", "all"], 1),
        ("one_trace.db", {"require_data": True}, ["--require-data"], 3),
        ("one_trace.db", {}, [], 0),
        ("drift.db", {"group_by": "day", "window": "all"}, ["--group-by", "day", "--window", "all"], None),
    ],
)
def test_gate_decides_as_the_command(capfd, name, kwargs, args, code):
    result = traceflow.gate(FIXTURES / name, **kwargs)
    command = cli_main(["traceflow", "gate", "--db", str(FIXTURES / name), *args])
    capfd.readouterr()
    if code is not None:
        assert command == code
    assert result.exit_code == command
    assert result.passed == (command == 0) == bool(result)
    assert result.outcome in {"regression", "too_little_data", "no_regression"}
    if result.outcome == "regression":
        assert all(result.report.reports[k]["statistics"]["verdict"] == "regression" for k in result.failing)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"group_by": "fortnight"}, "group_by"),
        ({"metrics": "happiness"}, "metrics"),
        ({"segment_by": "colour"}, "segment_by"),
        ({"since": datetime(2026, 1, 1)}, "aware datetime"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "is not before"),
        ({"group_by": "config.no_such_key"}, "no trace has config key"),
        ({"metrics": "score.no_such_score"}, "no decision has a score"),
    ],
)
def test_bad_options_are_value_errors(kwargs, message):
    with pytest.raises(traceflow.InvalidArgumentError, match=message) as caught:
        traceflow.trend(FIXTURES / "drift.db", **kwargs)
    assert isinstance(caught.value, ValueError)


def test_suite_reports_are_frozen_and_render_as_the_command(capfd):
    report = traceflow.trend(FIXTURES / "step.db", window="all", metrics="all")
    with pytest.raises(AttributeError):
        report.runs = 1
    report.to_dict()["reports"].clear()
    assert report.reports
    code = cli_main(["traceflow", "trend", "--db", str(FIXTURES / "step.db"), "--window", "all", "--all-metrics", "--format", "markdown"])
    assert code == 0
    assert capfd.readouterr().out == report.to_markdown()
