"""Hidden checks of activations.py."""

from __future__ import annotations

from grader.checks import check
from grader.checks.common import inputs
from grader.feedback import expect_close, require, tensor


@check(
    "relu",
    "values",
    title="relu(X) is max(X, 0) elementwise",
    hint="torch.clamp(x, min=0) or x * (x > 0)",
    points=2,
)
def test_relu_values(o):
    for name in ("X", "X3d"):
        require(o, f"relu/{name}")
        X = inputs("relu")[name]
        expect_close(
            tensor(o, f"relu/{name}", what=f"relu({name})"), X.clamp(min=0), f"relu({name})"
        )
