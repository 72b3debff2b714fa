"""pytest plugin for the report tests: the ``--update-goldens`` switch.

A command-line option must be registered before pytest parses the command
line, which is before any test module is imported; so this plugin is loaded
by ``tests/conftest.py`` (``pytest_plugins = ["conftest_report_plugin"]``) or
with ``-p conftest_report_plugin`` (tests/ on PYTHONPATH).  ``UPDATE_GOLDENS=1``
works in every case.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/golden/* from the current output instead of comparing with it",
    )


def update_goldens_requested(config: pytest.Config) -> bool:
    try:
        flag = bool(config.getoption("--update-goldens"))
    except ValueError:  # the option is not registered: plugin loaded too late
        flag = False
    return flag or os.environ.get("UPDATE_GOLDENS", "") not in ("", "0")
