"""`python -m traceflow` and the `traceflow` script run the command: the
same arguments, output and exit codes."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, python


def run(*args: str, program=None) -> subprocess.CompletedProcess:
    argv = program or [python(), "-m", "traceflow"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["trend", "--db", str(FIXTURES / "stable.db")], 0),
        (["gate", "--db", str(FIXTURES / "stable.db")], 0),
        (["gate", "--db", str(FIXTURES / "step.db"), "--window", "all"], 1),
        (["gate", "--db", str(FIXTURES / "one_trace.db"), "--require-data"], 3),
        (["trend", "--db", str(FIXTURES / "missing.db")], 2),
        (["trend", "--windwo", "20"], 2),
        (["--version"], 0),
        (["--help"], 0),
    ],
)
def test_exit_codes_are_the_commands(args, code):
    done = run(*args)
    assert done.returncode == code, done.stderr


def test_the_json_report_is_the_librarys():
    from traceflow import TraceTrendAnalyzer

    done = run("trend", "--db", str(FIXTURES / "drift.db"), "--window", "all", "--format", "json")
    assert done.returncode == 0
    assert json.loads(done.stdout) == TraceTrendAnalyzer(FIXTURES / "drift.db").analyze(window="all").to_dict()


def test_usage_names_the_command():
    done = run("--help")
    assert done.stdout.startswith("Is your agent getting better or worse?")
    assert "Usage: traceflow" in done.stdout
    done = run("nonsense")
    assert "Usage: traceflow" in done.stderr


def test_the_console_script_is_the_same_command():
    script = Path(sys.executable).with_name("traceflow")
    if not script.exists():
        script = shutil.which("traceflow")
    assert script, "the package installs a traceflow script beside its interpreter"
    args = ["trend", "--db", str(FIXTURES / "step.db"), "--window", "all"]
    assert run(*args, program=[str(script)]).stdout == run(*args).stdout


def test_a_closed_pipe_is_not_an_error():
    # `python -m traceflow list | head -1`: the command stops quietly.
    command = f"'{python()}' -m traceflow trend --db '{FIXTURES / 'drift.db'}' --window all | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("TraceTrend")
