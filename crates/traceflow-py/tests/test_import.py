"""Results another eval tool wrote, imported by `python -m traceflow
import`, then judged from Python by the source's run and case."""

import json
import subprocess

from conftest import REPO, python

import traceflow

JUNIT = REPO / "tests" / "fixtures" / "import" / "junit"


def test_an_imported_history_is_judged_by_its_runs_and_cases(tmp_path):
    store = tmp_path / "evals.db"
    runs = sorted(str(p) for p in JUNIT.glob("run-*.xml"))
    done = subprocess.run(
        [python(), "-m", "traceflow", "import", "--db", str(store), *runs],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "120 results in 10 files: 120 new" in done.stdout

    report = traceflow.trend(store, group_by="run", window="all")
    assert report.group_by == "config.run"
    assert report.runs == 10
    statistics = report.reports[0]["statistics"]
    assert statistics["verdict"] == "regression"
    assert statistics["change_point"]["run_index"] == 6

    gate = traceflow.gate(store, group_by="run", window="all")
    assert not gate.passed and gate.exit_code == 1

    cases = traceflow.cases(store, group_by="run", case_by="case", window="all")
    assert sorted(name.split("[")[1].rstrip("]") for name in cases.regressed) == ["case-03", "case-07", "case-11"]
    expected = json.loads((JUNIT / "expected.json").read_text())
    assert expected["broken_cases"] == ["case-03", "case-07", "case-11"]

    # The testcase's one evaluation, by name: its own pass rate.
    own = traceflow.trend(store, group_by="run", case_by="case", window="all", metrics=["pass-rate.junit"])
    assert own.reports[0]["metric"] == "pass-rate.junit"
    assert own.reports[0]["statistics"]["verdict"] == "regression"
    assert own.reports[0]["statistics"]["within_cases"] is not None

    # Which cases that evaluation failed.
    by_evaluation = traceflow.cases(store, group_by="run", case_by="case", window="all", evaluation="junit")
    assert sorted(name.split("[")[1].rstrip("]") for name in by_evaluation.regressed) == ["case-03", "case-07", "case-11"]
