#!/usr/bin/env bash
# The Python package's tests: a venv (under target/, reused) with maturin,
# pytest, mypy (its stubtest checks the stubs) and pandas (to_pandas) from
# PyPI, the package installed as a user installs it, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/python-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "maturin>=1.9,<2" pytest mypy pandas
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps ./crates/traceflow-py
# Under CI a test that needs something missing fails rather than skips.
"$venv/bin/python" -m pytest -q crates/traceflow-py/tests
