"""The ``grade`` console script: a Ctrl-C while torch is still being imported
(seconds) ends with one line, not a traceback."""

from __future__ import annotations

import sys


def run() -> None:
    try:
        from .cli import run as grade
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    grade()
