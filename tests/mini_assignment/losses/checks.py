"""Hidden checks of losses.py."""

from __future__ import annotations

from grader.checks import check
from grader.checks.common import inputs
from grader.feedback import expect_close, expect_shape, require, tensor, value


@check("mse", "scalar", title="mse returns a scalar", hint="Reduce with .mean()", points=1)
def test_mse_scalar(o):
    require(o, "mse")
    expect_shape(value(o, "mse.shape", kind=list), (), "mse(pred, target)")


@check(
    "mse",
    "value",
    title="mse is the mean of the squared errors",
    hint="((pred - target) ** 2).mean()",
    points=2,
)
def test_mse_value(o):
    require(o, "mse")
    t = inputs("mse")
    expect_close(
        tensor(o, "mse", what="mse(pred, target)"),
        ((t["pred"] - t["target"]) ** 2).mean(),
        "mse(pred, target)",
    )
