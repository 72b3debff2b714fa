"""Tensor-aware comparisons that fail with a learner-readable message.

Every helper raises ``CheckFailed`` with what was expected, what was observed
and where; checks compose them.
"""

from __future__ import annotations

import math

import torch

from .child.protocol import SETUP_STEPS, STEP_IMPORT
from .i18n import _
from .observations import Observation
from .problems import describe_error, describe_problem
from .untrusted import shorten

MAX_MESSAGE = 2000  # characters of a failure message (it may quote learner values)


class CheckFailed(AssertionError):
    """A check did not pass; ``str(exc)`` is the learner-facing message."""


class NotRun(CheckFailed):
    """The property could not be observed at all (the file failed at import,
    the run crashed or hit a limit): the check's own hint is beside the point."""


def not_run(message: str) -> None:
    raise NotRun(message)


def fail(message: str) -> None:
    raise CheckFailed(shorten(message, MAX_MESSAGE))


def label_of(o: Observation, step: str) -> str:
    for name, label in o.steps:
        if name == step:
            return label or step
    return step


def require(o: Observation, step: str) -> None:
    """The step ran and did not raise; otherwise fail with what happened."""
    if STEP_IMPORT in o.errors:
        not_run(describe_error(o.errors[STEP_IMPORT], label_of(o, STEP_IMPORT), o.limits))
    if step in o.errors:
        fail(describe_error(o.errors[step], label_of(o, step), o.limits))
    for pre in SETUP_STEPS:
        if pre in o.errors and pre != step:
            fail(describe_error(o.errors[pre], label_of(o, pre), o.limits))
    if o.problem is not None:
        not_run(describe_problem(o.problem, o.limits))
    if not o.step_reached(step):
        fail(_("{step}: this step did not run because an earlier step failed").format(step=step))


def value(o: Observation, key: str, step: str | None = None, kind: type | tuple = object):
    if step is not None:
        require(o, step)
    if key not in o.values:
        if o.problem is not None:
            not_run(describe_problem(o.problem, o.limits))
        fail(_("nothing was observed for {key}").format(key=key))
    v = o.values[key]
    if not isinstance(v, kind):
        fail(_("unexpected observation for {key}").format(key=key))
    return v


def tensor(o: Observation, key: str, step: str | None = None, what: str = "") -> torch.Tensor:
    if step is not None:
        require(o, step)
    t = o.tensors.get(key)
    if t is None:
        if o.problem is not None:
            not_run(describe_problem(o.problem, o.limits))
        fail(_("{what}: no tensor was produced").format(what=what or key))
    if (
        (t.is_floating_point() or t.is_complex())
        and t.numel()
        and not bool(torch.isfinite(t).all())
    ):
        # NaN compares false with everything: no check may judge such values
        bad = int((~torch.isfinite(t)).reshape(-1).nonzero()[0])
        fail(
            _(
                "{what} holds values that are not finite (NaN or infinity), first at index {index}"
            ).format(what=what or key, index=_index(bad, t.shape))
        )
    return t


def fmt_shape(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def expect_shape(observed, expected, what: str) -> None:
    if tuple(observed) != tuple(expected):
        fail(
            _("{what}: expected shape {expected}, got {observed}").format(
                what=what, expected=fmt_shape(expected), observed=fmt_shape(observed)
            )
        )


def _index(flat_index: int, shape) -> str:
    idx = []
    for size in reversed(list(shape)):
        idx.append(flat_index % size if size else 0)
        flat_index //= size if size else 1
    return "[" + ", ".join(str(i) for i in reversed(idx)) + "]"


def expect_close(
    observed: torch.Tensor,
    expected: torch.Tensor,
    what: str,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    check_dtype: bool = True,
) -> None:
    """Shape, dtype and values; on failure say the largest errors and where."""
    if not isinstance(observed, torch.Tensor):
        fail(
            _("{what}: expected a tensor, got {type}").format(
                what=what, type=type(observed).__name__
            )
        )
    expect_shape(observed.shape, expected.shape, what)
    if check_dtype and observed.dtype != expected.dtype:
        fail(
            _("{what}: expected dtype {expected}, got {observed}").format(
                what=what,
                expected=str(expected.dtype).replace("torch.", ""),
                observed=str(observed.dtype).replace("torch.", ""),
            )
        )
    if observed.numel() == 0:
        return
    obs = observed.detach().double()
    exp = expected.detach().double()
    if not torch.isfinite(obs).all():
        bad = int((~torch.isfinite(obs)).reshape(-1).nonzero()[0])
        fail(
            _("{what}: the value at {where} is {value} (not finite)").format(
                what=what, where=_index(bad, obs.shape), value=float(obs.reshape(-1)[bad])
            )
        )
    diff = (obs - exp).abs()
    tol = atol + rtol * exp.abs()
    if bool((diff <= tol).all()):
        return
    flat = diff.reshape(-1)
    i = int(flat.argmax())
    rel = flat / exp.abs().reshape(-1).clamp_min(1e-12)
    j = int(rel.argmax())
    fail(
        _(
            "{what}: values differ from the expected ones. Largest absolute error {abs:.3g} at "
            "{where} (expected {exp:.6g}, got {got:.6g}); largest relative error {rel:.3g} at "
            "{where_rel}; {count} of {total} values outside the tolerance "
            "(rtol={rtol:g}, atol={atol:g})"
        ).format(
            what=what,
            abs=float(flat[i]),
            where=_index(i, obs.shape),
            exp=float(exp.reshape(-1)[i]),
            got=float(obs.reshape(-1)[i]),
            rel=float(rel[j]),
            where_rel=_index(j, obs.shape),
            count=int((diff > tol).sum()),
            total=obs.numel(),
            rtol=rtol,
            atol=atol,
        )
    )


def tolerance(device: str) -> dict:
    return {"rtol": 1e-4, "atol": 1e-5} if device != "cpu" else {"rtol": 1e-5, "atol": 1e-6}


def expect_distribution(
    t: torch.Tensor,
    what: str,
    dist: str,
    cdf,
    *,
    mean: float,
    std: float,
    atoms: bool = False,
    zero_share: float | None = None,
) -> None:
    """The values look drawn from ``dist``; otherwise say, in plain words, what
    they look like against what was expected, with the Kolmogorov-Smirnov
    figures as the detail."""
    from .statistics import ks_test

    result = ks_test(t, cdf, atoms=atoms)
    if result.passed:
        return
    flat = t.detach().double().reshape(-1)
    lo, hi = (float(flat.min()), float(flat.max())) if flat.numel() else (math.nan, math.nan)
    scale = max(abs(std), 1e-12)
    close = abs(result.mean - mean) <= 0.1 * scale and abs(result.std - std) <= 0.1 * scale
    if close:
        words = _(
            "{what}: your values have mean {mean:.4g} and standard deviation {std:.4g}, as "
            "expected, but they are not spread like {dist} (range [{lo:.4g}, {hi:.4g}])"
        )
    else:
        words = _(
            "{what}: your values have mean {mean:.4g} and standard deviation {std:.4g} "
            "(range [{lo:.4g}, {hi:.4g}]); expected {dist}: mean about {emean:.4g}, "
            "standard deviation about {estd:.4g}"
        )
    text = words.format(
        what=what, mean=result.mean, std=result.std, lo=lo, hi=hi, dist=dist, emean=mean, estd=std
    )
    if zero_share is not None and flat.numel():
        text += _("; {got:.0%} of them are exactly 0, expected about {want:.0%}").format(
            got=float((flat == 0).double().mean()), want=zero_share
        )
    text += _(
        ". Detail: Kolmogorov-Smirnov distance {d:.4f}, at most {crit:.4f} allowed for "
        "n = {n} values"
    ).format(d=result.distance, crit=result.critical, n=result.n)
    fail(text)
