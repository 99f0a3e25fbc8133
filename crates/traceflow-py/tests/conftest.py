"""What the tests share: the repository's fixture stores (among them the
stores TraceFlow Lite's SDK wrote, under tests/fixtures/tfl-sdk)."""

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures"

#: The stores the reference implementation judged (tests/fixtures/expected).
ANALYZABLE = ["drift", "step", "stable", "quirks", "sdk_no_evals", "bad_rows"]


@pytest.fixture
def locked_store(tmp_path):
    """A rollback-journal copy of the drift store and a way to hold its
    exclusive lock from another process for a while: a reader waits for it
    (up to traceflow's 5 s busy timeout), which makes an analysis that lasts
    as long as the test wants."""
    import subprocess

    path = tmp_path / "locked.db"
    shutil.copy(FIXTURES / "drift.db", path)
    holders = []

    def hold(seconds: float) -> None:
        script = (
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(float(sys.argv[2]))\n"
            "c.execute('COMMIT')\n"
        )
        holder = subprocess.Popen([sys.executable, "-c", script, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
        holders.append(holder)

    yield path, hold
    for holder in holders:
        holder.wait(timeout=30)


def python() -> str:
    """This interpreter, for subprocesses that import the installed package."""
    return sys.executable


def write_store(path: Path, runs: list) -> Path:
    """A TraceFlow Lite store (the fixtures' schema) with one done trace per
    entry of `runs`, oldest first, each entry its gate decisions."""
    import sqlite3

    schema = sqlite3.connect(FIXTURES / "stable.db")
    tables = [
        sql
        for (sql,) in schema.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    ]
    schema.close()
    conn = sqlite3.connect(path)
    for sql in tables:
        conn.execute(sql)
    for i, decisions in enumerate(runs):
        trace_id = f"{i:032x}"
        at = f"2026-03-01T{i // 60:02d}:{i % 60:02d}:00+00:00"
        conn.execute(
            "INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at)"
            " VALUES (?, 'done', 'triage_plan', 'q', '{}', 'gpt-4o-mini', 'openai', ?)",
            (trace_id, at),
        )
        conn.executemany(
            "INSERT INTO trace_evals (trace_id, step_seq, decision, created_at) VALUES (?, ?, ?, ?)",
            [(trace_id, seq, decision, at) for seq, decision in enumerate(decisions)],
        )
    conn.commit()
    conn.close()
    return path
