"""Runs the hidden checks (pytest, in this process) over observations.

pytest-json-report carries the outcomes: its report has one entry per check
and device, whose ``outcome`` is "passed" only when the set-up, the call and
the tear-down all passed (a failing tear-down is an error, a skip is not a
pass), and the check's ``user_properties``.  The one thing it cannot carry is
the exception object, from which the learner's message is made (``CheckFailed``,
``NotRun``, a shape error): ``ObservationPlugin``'s report hook turns it into
text and puts it with the check's id and device in ``user_properties``; a
check whose set-up failed never ran and gets no outcome."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pytest_jsonreport.plugin import JSONReport

from . import assignment
from .child.protocol import SUFFIX_INPUT_CHANGED
from .feedback import MAX_MESSAGE, CheckFailed, NotRun
from .i18n import _
from .observations import Observation
from .untrusted import shorten

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
_SHAPE_ERROR = re.compile(
    r"shapes cannot be multiplied|must match the size|size mismatch|"
    r"The size of tensor|Expected size|mat1 and mat2|doesn't match the "
    r"broadcast shape|shape '\["
)


@dataclass
class DeviceOutcome:
    status: str  # "passed" | "failed"
    message: str = ""
    blocked: bool = False  # not observable at all (import failure, crash, limit)


@dataclass
class CheckOutcome:
    id: str
    devices: dict[str, DeviceOutcome] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.devices) and all(d.status == "passed" for d in self.devices.values())


CHECK_TIME_LIMIT = 20.0  # seconds per check; a check normally takes milliseconds


def _check_too_slow(signum, frame) -> None:
    raise CheckFailed(
        _(
            "the check took more than {seconds:g} s on your module's values (are "
            "they huge or not finite?), so it fails"
        ).format(seconds=CHECK_TIME_LIMIT)
    )


class ObservationPlugin:
    """Gives each check the observations of its exercise, one device at a time,
    and releases an exercise's values and tensors once its last check ran (the
    results need only the steps, errors, problems and output)."""

    def __init__(self, observations: dict[str, dict[str, Observation]]) -> None:
        self.observations = observations
        self.remaining: dict[str, int] = {}

    def pytest_generate_tests(self, metafunc) -> None:
        marker = metafunc.definition.get_closest_marker("grader_check")
        if marker is None or "o" not in metafunc.fixturenames:
            return
        per_device = self.observations.get(marker.kwargs["exercise"], {})
        devices = sorted(per_device, key=lambda d: (d != "cpu", d))
        metafunc.parametrize("o", [per_device[d] for d in devices], ids=devices)

    def pytest_collection_modifyitems(self, items) -> None:
        items[:] = [
            i
            for i in items
            if i.get_closest_marker("grader_check") is not None
            and "o" in getattr(i, "callspec", type("", (), {"params": {}})).params
        ]
        for item in items:
            exercise = item.get_closest_marker("grader_check").kwargs["exercise"]
            self.remaining[exercise] = self.remaining.get(exercise, 0) + 1

    def pytest_runtest_teardown(self, item) -> None:
        exercise = item.get_closest_marker("grader_check").kwargs["exercise"]
        self.remaining[exercise] -= 1
        if self.remaining[exercise] == 0:
            for obs in self.observations.get(exercise, {}).values():
                obs.values, obs.tensors = {}, {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        """A check computes on learner values in the grader's own process: a time
        limit per check, so that no value (huge, infinite) can hang the grader."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        old = signal.signal(signal.SIGALRM, _check_too_slow)
        signal.setitimer(signal.ITIMER_REAL, CHECK_TIME_LIMIT)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        """After a check's call: its id, device and learner-facing message, for
        the JSON report."""
        yield
        if call.when != "call":
            return
        marker = item.get_closest_marker("grader_check")
        obs = item.callspec.params["o"]
        message = ""
        blocked = False
        if call.excinfo is not None:
            exc = call.excinfo.value
            if isinstance(exc, CheckFailed):
                message = shorten(str(exc), MAX_MESSAGE)
                blocked = isinstance(exc, NotRun)
            elif isinstance(exc, RuntimeError) and _SHAPE_ERROR.search(str(exc)):
                # the learner's tensors do not fit the formula they are checked with
                message = shorten(
                    _("the shapes of your module's tensors do not fit the formula: {error}").format(
                        error=str(exc)
                    ),
                    1000,
                )
            else:
                message = shorten(
                    _("internal error of the grader's check: {error}").format(
                        error=f"{type(exc).__name__}: {exc}"
                    ),
                    1000,
                )
            if not blocked and any(
                k.endswith(SUFFIX_INPUT_CHANGED) and v is True for k, v in obs.values.items()
            ):
                message += _(
                    " (note: forward changed its input X in place, e.g. with X.sub_() "
                    "or X -= ...; a module must leave its input alone and compute a "
                    "new tensor)"
                )
        item.user_properties.extend(
            [
                ("check", marker.kwargs["id"]),
                ("device", obs.device),
                ("message", message),
                ("blocked", blocked),
            ]
        )


def run_checks(
    observations: dict[str, dict[str, Observation]], work: assignment.Assignment | None = None
) -> dict[str, CheckOutcome]:
    """Run every hidden check of ``work`` (by default this course's
    assignment); returns outcomes by check id."""
    work = work or assignment.default()
    work.catalog()  # its check modules, imported under the names pytest gives them
    json_plugin = JSONReport()
    args = [
        "-c",
        str(CHECKS_DIR / "checks.ini"),
        "--rootdir",
        str(CHECKS_DIR),
        "-p",
        "pytest_jsonreport.plugin",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:stepwise",
        "-p",
        "no:unraisableexception",
        "-p",
        "no:threadexception",
        "-p",
        "no:faulthandler",
        "-p",
        "no:logging",
        "-p",
        "no:warnings",
        "-p",
        "no:doctest",
        "-p",
        "no:junitxml",
        "-p",
        "no:pastebin",
        "-q",
        "--no-header",
        "--noconftest",
        "--json-report-file=none",
        *[str(f.checks_path) for f in work.files],
    ]
    sink = io.StringIO()
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only our plugins: fast and predictable
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            code = pytest.main(args, plugins=[ObservationPlugin(observations), json_plugin])
    finally:
        if autoload is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(
            f"the hidden checks could not run (pytest exit {code}):\n" + sink.getvalue()[-3000:]
        )
    return outcomes_of(json_plugin.report)


def outcomes_of(report: dict) -> dict[str, CheckOutcome]:
    """Outcomes by check id, from pytest-json-report's report."""
    outcomes: dict[str, CheckOutcome] = {}
    for test in report.get("tests", []):
        props: dict = {}
        for prop in test.get("user_properties", []):
            props.update(prop)
        cid = props.get("check")
        if cid is None:  # its set-up failed: it never ran
            continue
        status = "passed" if test.get("outcome") == "passed" else "failed"
        outcomes.setdefault(cid, CheckOutcome(cid)).devices[props["device"]] = DeviceOutcome(
            status, props.get("message", ""), bool(props.get("blocked"))
        )
    return outcomes
