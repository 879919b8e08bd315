"""What every command shares: ``--version`` and the exit codes."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

from fer_desktop import __version__

Main = Callable[[list[str] | None], int]

EXIT_DONE = 0
EXIT_FAILED = 1  # the data (a file, a stream, weights) could not be used
EXIT_USAGE = 2  # what argparse uses for a bad command line
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports a process ended by SIGINT


def add_version_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")


def interruptible(prog: str) -> Callable[[Main], Main]:
    """Ctrl-C anywhere in a command (loading a model, say) ends it with one line and status 130, no traceback."""

    def wrap(main: Main) -> Main:
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> int:
            try:
                return main(argv)
            except KeyboardInterrupt:
                print(f"{prog}: interrupted", file=sys.stderr)
                return EXIT_INTERRUPTED

        return run

    return wrap
