"""Errors are Python exceptions deriving the matching built-in, with the
command's one-line messages; no Rust panic reaches Python."""

import re
import subprocess

import pytest

from conftest import FIXTURES, python

import traceflow
from traceflow import (
    InvalidArgumentError,
    NotEnoughDataError,
    StoreConnectionError,
    StoreError,
    StoreNotFoundError,
    TraceflowError,
    TraceTrendAnalyzer,
)


def command_error(*args: str) -> str:
    """What `python -m traceflow` prints after `error: `, and that it exits 2."""
    done = subprocess.run(
        [python(), "-m", "traceflow", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert line.startswith("error: ")
    return line.removeprefix("error: ")


def test_a_missing_store_is_file_not_found(tmp_path):
    missing = tmp_path / "nope.db"
    with pytest.raises(FileNotFoundError) as caught:
        TraceTrendAnalyzer(missing).analyze()
    assert isinstance(caught.value, StoreNotFoundError)
    assert isinstance(caught.value, TraceflowError)
    assert str(caught.value) == command_error("trend", "--db", str(missing))
    assert not missing.exists()


@pytest.mark.parametrize("name", ["not_sqlite.db", "not_a_store.db"])
def test_a_file_that_is_not_a_store_is_a_store_error(name):
    with pytest.raises(StoreError) as caught:
        TraceTrendAnalyzer(FIXTURES / name).analyze()
    assert isinstance(caught.value, OSError)
    assert not isinstance(caught.value, FileNotFoundError)
    assert str(caught.value) == command_error("trend", "--db", str(FIXTURES / name))


def test_a_directory_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="directory"):
        TraceTrendAnalyzer(tmp_path).analyze()


@pytest.mark.parametrize(
    ("kwargs", "window", "message"),
    [
        ({}, 1, "window must be at least 2 runs, got 1"),
        ({}, -3, "window must be at least 2 runs, got -3"),
        ({}, "20", 'window must be a number of runs or "all"'),
        ({"method": "slope"}, 20, 'unknown method "slope"'),
        ({"alpha": 2.0}, 20, "alpha"),
        ({"regression_threshold": -1}, 20, "threshold must be a finite number >= 0, got -1"),
        ({"min_drop": float("nan")}, 20, "min"),
    ],
)
def test_bad_arguments_are_value_errors(kwargs, window, message):
    with pytest.raises(InvalidArgumentError, match=message) as caught:
        TraceTrendAnalyzer(FIXTURES / "drift.db", **kwargs).analyze(window=window)
    assert isinstance(caught.value, ValueError)


def test_too_few_traces_is_the_proposals_value_error():
    with pytest.raises(NotEnoughDataError) as caught:
        TraceTrendAnalyzer(FIXTURES / "one_trace.db").analyze()
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == command_error(
        "trend", "--db", str(FIXTURES / "one_trace.db"), "--method", "ols"
    )


def test_a_server_that_is_down_is_a_connection_error():
    # Port 1 on loopback: nothing listens, the refusal is immediate.
    url = "postgres://traceflow:made-up-secret@127.0.0.1:1/history?connect_timeout=2"
    with pytest.raises(ConnectionError) as caught:
        TraceTrendAnalyzer(url).analyze()
    assert isinstance(caught.value, StoreConnectionError)
    assert "made-up-secret" not in str(caught.value)
    assert str(caught.value) == command_error("trend", "--db", url)


def test_a_malformed_url_is_a_value_error():
    with pytest.raises(InvalidArgumentError):
        TraceTrendAnalyzer("postgres://host:notaport/db").analyze()


def test_store_text_in_messages_is_printable(tmp_path):
    # A file whose name holds a terminal escape: the message keeps none.
    evil = tmp_path / "evil\x1b[31m.db"
    with pytest.raises(StoreNotFoundError) as caught:
        TraceTrendAnalyzer(evil).analyze()
    assert "\x1b" not in str(caught.value)


def test_every_exception_is_exported():
    for name in traceflow.errors.__all__:
        assert getattr(traceflow, name) is getattr(traceflow.errors, name)


STORE = FIXTURES / "drift.db"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: TraceTrendAnalyzer(STORE, evaluations=-1).analyze(), "evaluations must be a positive whole number, got -1"),
        (lambda: TraceTrendAnalyzer(STORE, method=5).analyze(), 'method must be "auto" or "ols", got 5'),
        (lambda: traceflow.trend(STORE, evaluations=-1), "evaluations"),
        (lambda: traceflow.trend(STORE, method=None), "method"),
        (lambda: traceflow.trend(STORE, group_by=5), "group_by must be a string, got 5"),
        (lambda: traceflow.trend(STORE, metrics=None), "metrics"),
        (lambda: traceflow.trend(STORE, metrics=["pass_rate", 5]), "metrics"),
        (lambda: traceflow.trend(STORE, segment_by=1), "segment_by"),
        (lambda: traceflow.trend(STORE, case_by=b"input"), "case_by"),
        (lambda: traceflow.trend(STORE, exclude_flaky="yes"), "exclude_flaky must be True or False"),
        (lambda: traceflow.gate(STORE, require_data="yes"), "require_data must be True or False"),
        (lambda: traceflow.cases(STORE, split_at=-1), "split_at must be a positive whole number, got -1"),
        (lambda: traceflow.cases(STORE, show=None), "show"),
        (lambda: traceflow.compare(STORE, baseline=20), "baseline"),
        (lambda: traceflow.compare(STORE, unpaired=1), "unpaired"),
        (lambda: traceflow.compare(STORE, show=1), "show"),
    ],
)
def test_every_bad_argument_is_an_invalid_argument_error(call, message):
    """Never a bare OverflowError, nor a TypeError naming a Rust type."""
    with pytest.raises(InvalidArgumentError, match=re.escape(message)) as caught:
        call()
    assert isinstance(caught.value, ValueError)
