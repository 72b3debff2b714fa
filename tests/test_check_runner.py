"""The check runner reads each check's outcome from pytest-json-report's
report: one outcome per check and device, passed only when the check's
set-up, call and teardown passed, with the learner-facing message of the
exception."""

from __future__ import annotations

import sys
import textwrap

import pytest
from pytest_jsonreport.plugin import JSONReport

from grader.checking import ObservationPlugin, outcomes_of
from grader.observations import Observation

CHECKS = """
import pytest

from grader.feedback import CheckFailed, NotRun


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown broke")


@pytest.fixture
def broken_setup():
    raise RuntimeError("setup broke")


@pytest.mark.grader_check(id="ex.passes", exercise="ex")
def test_passes(o):
    pass


@pytest.mark.grader_check(id="ex.fails", exercise="ex")
def test_fails(o):
    raise CheckFailed("the output differs")


@pytest.mark.grader_check(id="ex.not_run", exercise="ex")
def test_not_run(o):
    raise NotRun("forward crashed")


@pytest.mark.grader_check(id="ex.cpu_only", exercise="ex")
def test_cpu_only(o):
    if o.device != "cpu":
        raise CheckFailed("wrong on " + o.device)


@pytest.mark.grader_check(id="ex.teardown", exercise="ex")
def test_teardown(o, broken_teardown):
    pass


@pytest.mark.grader_check(id="ex.setup", exercise="ex")
def test_setup(o, broken_setup):
    pass


@pytest.mark.grader_check(id="ex.skips", exercise="ex")
def test_skips(o):
    pytest.skip("not a pass")
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """The outcomes of the checks above, run on a CPU and a CUDA observation
    the way grader.checking.run_checks runs the real ones."""
    where = tmp_path_factory.mktemp("checks")
    (where / "checks.ini").write_text("[pytest]\nmarkers =\n    grader_check(id, exercise): x\n")
    (where / "test_fake_checks.py").write_text(textwrap.dedent(CHECKS))
    plugin = ObservationPlugin({"ex": {d: Observation("ex", d) for d in ("cpu", "cuda")}})
    report = JSONReport()
    try:
        code = pytest.main(
            [
                "-c",
                str(where / "checks.ini"),
                "--rootdir",
                str(where),
                "-q",
                "-p",
                "no:cacheprovider",
                "--json-report-file=none",
                str(where),
            ],
            plugins=[plugin, report],
        )
    finally:
        sys.modules.pop("test_fake_checks", None)
    assert code == pytest.ExitCode.TESTS_FAILED
    return outcomes_of(report.report)


def test_each_check_has_an_outcome_per_device_read_from_the_json_report(outcomes):
    assert list(outcomes) == [
        "ex.passes",
        "ex.fails",
        "ex.not_run",
        "ex.cpu_only",
        "ex.teardown",
        "ex.skips",
    ]  # a check whose set-up failed has none
    assert all(list(o.devices) == ["cpu", "cuda"] for o in outcomes.values())
    status = {cid: {d: r.status for d, r in o.devices.items()} for cid, o in outcomes.items()}
    assert status["ex.passes"] == {"cpu": "passed", "cuda": "passed"}
    assert status["ex.cpu_only"] == {"cpu": "passed", "cuda": "failed"}
    assert status["ex.teardown"] == {"cpu": "failed", "cuda": "failed"}
    assert status["ex.skips"] == {"cpu": "failed", "cuda": "failed"}
    assert outcomes["ex.passes"].passed and not outcomes["ex.cpu_only"].passed


def test_messages_and_blocked_come_from_the_checks_exception(outcomes):
    fails, not_run = outcomes["ex.fails"].devices["cpu"], outcomes["ex.not_run"].devices["cpu"]
    assert (fails.status, fails.message, fails.blocked) == ("failed", "the output differs", False)
    assert (not_run.message, not_run.blocked) == ("forward crashed", True)
    assert outcomes["ex.cpu_only"].devices["cuda"].message == "wrong on cuda"
    assert outcomes["ex.passes"].devices["cpu"].message == ""
