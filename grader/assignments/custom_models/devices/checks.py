"""Checks for devices.py: try_gpu and try_all_gpus, real and simulated."""

from __future__ import annotations

import torch

from grader.checks import check
from grader.feedback import CheckFailed, NotRun, fail, label_of, not_run, value
from grader.i18n import N_, _
from grader.problems import describe_error, describe_problem


def _runs(o) -> dict[int, str]:
    """Simulated GPU count -> the key of that run's observations (drawn by
    the grader per run, with one extra count besides 0, 1, 2 and 4)."""
    runs = o.request.get("simulated") or [[str(c), c] for c in (0, 1, 2, 4)]
    return {int(count): str(key) for key, count in runs}


def _counts(o) -> list[int]:
    return [c for c in _runs(o) if c > 0]


def _indices(o) -> list[int | None]:
    return [None, *(int(i) for i in o.request.get("indices", (0, 1, 3)))]


def _expected_gpu(count: int, i: int | None) -> str:
    i = 0 if i is None else i
    return f"cuda:{i}" if count >= i + 1 else "cpu"


def _show(desc: dict) -> str:
    if desc.get("type") == "device":
        return f"device('{desc.get('str')}')"
    if "items" in desc:
        return f"{desc.get('type')}[" + ", ".join(_show(d) for d in desc["items"]) + "]"
    return f"{desc.get('type')} {desc.get('str', '')!r}"


def _require_step(o, label: str, call: str, count: int) -> None:
    """The call ran; otherwise say what stopped it, without the run's key."""
    if "import" in o.errors:
        not_run(describe_error(o.errors["import"], label_of(o, "import"), o.limits))
    for step in (f"import/{label}", f"{label}/{call}"):
        if step in o.errors:
            fail(describe_error(o.errors[step], label_of(o, step), o.limits))
    if o.problem is not None:  # the run's own problem (time limit, crash, leftovers...)
        not_run(describe_problem(o.problem, o.limits))
    if not o.step_reached(f"{label}/{call}"):
        fail(
            _("with {count} GPU(s), {call} did not run because an earlier step failed").format(
                count=count, call=call
            )
        )


def _check_try_gpu(o, count: int, label: str | None = None) -> None:
    label = _runs(o)[count] if label is None else label
    for i in _indices(o):
        call = "try_gpu()" if i is None else f"try_gpu({i})"
        _require_step(o, label, call, count)
        got = value(o, f"{label}/{call}", kind=dict)
        want = _expected_gpu(count, i)
        if got.get("type") != "device" or got.get("str") != want:
            fail(
                _("with {count} GPU(s), {call} returned {got}; expected device('{want}')").format(
                    count=count, call=call, got=_show(got), want=want
                )
            )


def _check_try_all(o, count: int, label: str | None = None) -> None:
    label = _runs(o)[count] if label is None else label
    _require_step(o, label, "try_all_gpus()", count)
    got = value(o, f"{label}/try_all_gpus()", kind=dict)
    want = [f"cuda:{i}" for i in range(count)] or ["cpu"]
    items = got.get("items")
    ok = (
        got.get("type") == "list"
        and isinstance(items, list)
        and [d.get("str") if d.get("type") == "device" else None for d in items] == want
    )
    if not ok:
        fail(
            _("with {count} GPU(s), try_all_gpus() returned {got}; expected [{want}]").format(
                count=count, got=_show(got), want=", ".join(f"device('{w}')" for w in want)
            )
        )


@check(
    "devices",
    "try_gpu_no_gpu",
    title=N_("try_gpu(i) returns cpu when there is no GPU"),
    hint=N_('torch.device("cpu") whenever torch.cuda.device_count() < i + 1.'),
)
def test_try_gpu_none(o):
    _check_try_gpu(o, 0)


@check(
    "devices",
    "try_gpu_counts",
    title=N_("try_gpu(i) with 1, 2 and 4 GPUs"),
    hint=N_("cuda:i exists when device_count() >= i + 1 (devices are numbered from 0)."),
)
def test_try_gpu_counts(o):
    for count in _counts(o):
        _check_try_gpu(o, count)


@check(
    "devices",
    "try_all_gpus_no_gpu",
    title=N_("try_all_gpus() returns [device('cpu')] when there is no GPU"),
    hint=N_('Never return an empty list: fall back to [torch.device("cpu")].'),
)
def test_try_all_none(o):
    _check_try_all(o, 0)


@check(
    "devices",
    "try_all_gpus_counts",
    title=N_("try_all_gpus() with 1, 2 and 4 GPUs"),
    hint=N_('[torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())].'),
)
def test_try_all_counts(o):
    for count in _counts(o):
        _check_try_all(o, count)


@check(
    "devices",
    "real_count",
    title=N_("Both functions agree with this machine's real GPUs"),
    hint=N_("Ask torch.cuda.device_count() each time; do not hard-code a count."),
)
def test_real(o):
    count = torch.cuda.device_count()
    real = str(o.request.get("real", "real"))
    try:
        _check_try_gpu(o, count, real)
        _check_try_all(o, count, real)
    except NotRun:
        raise
    except CheckFailed:
        # answers that are wrong in the same way as with the same number of
        # simulated GPUs do follow the real count: the checks of that count
        # report the mistake; this one is about reading the real count
        if not _same_answers(o, real, _runs(o).get(count)):
            raise


def _same_answers(o, real: str, simulated: str | None) -> bool:
    if simulated is None:
        return False
    calls = [("try_gpu()" if i is None else f"try_gpu({i})") for i in _indices(o)]
    calls.append("try_all_gpus()")
    return all(
        f"{real}/{c}" in o.values
        and o.values.get(f"{real}/{c}") == o.values.get(f"{simulated}/{c}")
        for c in calls
    )
