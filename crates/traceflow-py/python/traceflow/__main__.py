"""``python -m traceflow``: the ``traceflow`` command, with the same
arguments, output and exit codes as the binary (one implementation)."""

import signal
import sys

from traceflow._traceflow import cli_main

__all__ = ["main"]


def main() -> None:
    """Run the command on ``sys.argv`` and exit with its code."""
    # The command writes to the process's stdout and stderr directly: what
    # Python buffered goes first.
    sys.stdout.flush()
    sys.stderr.flush()
    # Ctrl-C ends the command as it ends the binary, rather than waiting
    # for Python's handler to run after the command returns.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # SIGPIPE stays ignored, as Rust's runtime leaves it for the binary: a
    # closed pipe (`| head`) is EPIPE, which the command takes for done.
    sys.exit(cli_main(["traceflow", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
