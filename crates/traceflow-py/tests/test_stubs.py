"""The type stubs say what the extension module has (mypy's stubtest)."""

import subprocess

from conftest import python


def test_the_stubs_match_the_module(tmp_path):
    # From an empty directory: the package as installed, its modules once.
    done = subprocess.run(
        [python(), "-m", "mypy.stubtest", "traceflow"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
