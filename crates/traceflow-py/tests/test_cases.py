"""`traceflow.cases` and `traceflow.compare`: the command's `cases` and
`compare`, the same reports and exit codes."""

import json

import pytest

from conftest import FIXTURES

import traceflow
from traceflow._traceflow import cli_main

STORE = FIXTURES / "cases.db"


def command(capfd, *args):
    code = cli_main(["traceflow", *args])
    return code, capfd.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "args"),
    [
        ({"window": "all"}, ["--window", "all"]),
        ({"window": "all", "split_at": 100}, ["--window", "all", "--split-at", "100"]),
        ({"window": "all", "split_at": "2026-01-01T12:00:00Z", "fdr": 0.1}, ["--window", "all", "--split-at", "2026-01-01T12:00:00Z", "--fdr", "0.1"]),
    ],
)
def test_cases_is_the_commands_report(capfd, kwargs, args):
    report = traceflow.cases(STORE, **kwargs)
    code, out = command(capfd, "cases", "--db", str(STORE), *args, "--format", "json")
    assert code == 0
    assert report.to_dict() == json.loads(out)
    assert report.cases == json.loads(out)["cases"]
    assert sorted(report.regressed) == sorted(c["case"] for c in report.cases if c["verdict"] == "regressed")
    assert sum(report.counts.values()) == len(report.cases)


@pytest.mark.parametrize(("show", "flag"), [("news", []), ("flaky", ["--flaky"]), ("all", ["--all"])])
def test_cases_lists_what_the_command_lists(capfd, show, flag):
    report = traceflow.cases(STORE, window="all", show=show)
    code, out = command(capfd, "cases", "--db", str(STORE), "--window", "all", *flag, "--format", "markdown")
    assert code == 0
    assert report.to_markdown() == out


@pytest.mark.parametrize(
    ("kwargs", "args"),
    [
        ({"window": "all"}, ["--window", "all"]),
        ({"window": "all", "candidate": "last=50"}, ["--window", "all", "--candidate", "last=50"]),
        ({"window": "all", "candidate": "last=50", "unpaired": True}, ["--window", "all", "--candidate", "last=50", "--unpaired"]),
        (
            {"window": "all", "baseline": "until=2026-01-01T12:00:00Z", "candidate": "since=2026-01-01T12:00:00Z"},
            ["--window", "all", "--baseline", "until=2026-01-01T12:00:00Z", "--candidate", "since=2026-01-01T12:00:00Z"],
        ),
    ],
)
def test_compare_is_the_commands_report_and_exit_code(capfd, kwargs, args):
    report = traceflow.compare(STORE, **kwargs)
    code, out = command(capfd, "compare", "--db", str(STORE), *args, "--format", "json")
    assert report.to_dict() == json.loads(out)
    assert report.exit_code() == code
    assert report.any_regression == (code == 1)
    assert report.verdict == json.loads(out)["verdict"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: traceflow.cases(STORE, split_at=10**6), "split"),
        (lambda: traceflow.cases(STORE, fdr=2.0), "false-discovery rate"),
        (lambda: traceflow.cases(STORE, show="some"), "show must be"),
        (lambda: traceflow.compare(STORE, candidate="lats=5"), "candidate"),
        (lambda: traceflow.compare(STORE, baseline="last=50", candidate="last=20"), "match both"),
    ],
)
def test_bad_options_are_value_errors(call, message):
    with pytest.raises(ValueError, match=message) as caught:
        call()
    assert isinstance(caught.value, traceflow.TraceflowError)


def test_a_misspelt_keyword_is_a_type_error_with_the_right_one():
    with pytest.raises(TypeError, match=r"trend\(\) got an unexpected keyword argument 'grup_by'; did you mean 'group_by'\?"):
        traceflow.trend(STORE, grup_by="day")
    with pytest.raises(TypeError, match="cases"):
        traceflow.cases(STORE, windw=20)
