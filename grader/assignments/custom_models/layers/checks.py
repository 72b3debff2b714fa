"""Checks for layers.py: centered_layer, my_linear."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.checks import check
from grader.checks.common import DEVICE_HINT_CREATED, DEVICE_TITLE, device_check, inputs
from grader.feedback import (
    expect_close,
    expect_distribution,
    expect_shape,
    fail,
    require,
    tensor,
    tolerance,
    value,
)
from grader.i18n import N_, _
from grader.statistics import normal_cdf

from . import fixtures

CENTER_INPUTS = fixtures.CENTER_INPUTS


def _center_tol(X: torch.Tensor) -> dict:
    """Different but valid reductions (mean, sum / numel) differ by rounding."""
    eps = torch.finfo(X.dtype).eps
    return {"rtol": 16 * eps, "atol": 64 * eps * float(X.abs().max())}


# -- centered_layer ------------------------------------------------------------------------
@check(
    "centered_layer",
    "no_parameters",
    title=N_("The layer has no parameters"),
    hint=N_("CenteredLayer only computes X - X.mean(); it needs no nn.Parameter."),
)
def test_centered_no_parameters(o):
    params = value(o, "parameters", step="construct", kind=list)
    if params:
        fail(
            _("expected no parameters, found {names}").format(
                names=", ".join(str(p.get("name")) for p in params if isinstance(p, dict))
            )
        )


@check(
    "centered_layer",
    "shape",
    title=N_("The output keeps the input's shape"),
    hint=N_("X - X.mean() broadcasts a scalar: the shape does not change."),
)
def test_centered_shape(o):
    for name in CENTER_INPUTS:
        out = tensor(o, f"out/{name}", step=f"out/{name}")
        expect_shape(
            out.shape,
            inputs("centered_layer")[name].shape,
            _("output for {name}").format(name=name),
        )


@check(
    "centered_layer",
    "zero_mean",
    title=N_("The output's mean is zero (also for large inputs and float64)"),
    hint=N_("Subtract the mean over all elements, X.mean(), computed in the input's dtype."),
)
def test_centered_zero_mean(o):
    for name in CENTER_INPUTS:
        X = inputs("centered_layer")[name]
        out = tensor(o, f"out/{name}", step=f"out/{name}")
        if not out.is_floating_point():
            fail(_("output for {name} has dtype {dtype}").format(name=name, dtype=out.dtype))
        mean = float(out.double().mean())
        tol = _center_tol(X)["atol"]
        if abs(mean) > tol:
            fail(
                _("output for {name} has mean {mean:.3g}; expected 0 within {tol:.2g}").format(
                    name=name, mean=mean, tol=tol
                )
            )


@check(
    "centered_layer",
    "formula",
    title=N_("Output equals X - X.mean() (mean over all elements)"),
    hint=N_(
        "X.mean() without dim is the mean over every element; X.mean(dim=0) centers each "
        "feature instead, which is another layer."
    ),
)
def test_centered_formula(o):
    for name in CENTER_INPUTS:
        X = inputs("centered_layer")[name]
        out = tensor(o, f"out/{name}", step=f"out/{name}")
        expect_close(
            out,
            X - X.mean(),
            _("output for {name} {shape}").format(name=name, shape=tuple(X.shape)),
            **_center_tol(X),
        )


@check(
    "centered_layer",
    "gradient",
    title=N_("Gradients through the layer equal those of X - X.mean()"),
    hint=N_("Keep the mean in the autograd graph: no .item(), .detach() or .data."),
)
def test_centered_gradient(o):
    require(o, "backward")
    if value(o, "input_grad_missing", kind=bool):
        fail(_("the input received no gradient through the layer"))
    G = inputs("centered_layer")["G"]
    expect_close(
        tensor(o, "input_grad"), G - G.mean(), _("gradient with respect to X"), rtol=1e-5, atol=1e-6
    )


@check(
    "centered_layer",
    "in_sequential",
    title=N_("Works inside nn.Sequential(nn.Linear(8, 128), CenteredLayer())"),
    hint=N_("forward takes one tensor and returns one tensor, so the layer composes."),
)
def test_centered_in_sequential(o):
    require(o, "sequential")
    out = tensor(o, "seq/out")
    t = inputs("centered_layer")
    y = F.linear(t["X"], t["seq/weight"], t["seq/bias"])
    expect_close(out, y - y.mean(), _("output of the Sequential"), **tolerance(o.device))


@check("centered_layer", "device", title=DEVICE_TITLE, hint=DEVICE_HINT_CREATED)
def test_centered_device(o):
    device_check(o)


# -- my_linear -------------------------------------------------------------------------------
def _linear_params(o):
    require(o, "construct")
    w, b = o.tensors.get("attr/weight"), o.tensors.get("attr/bias")
    if w is None or b is None:
        fail(_("MyLinear needs tensor attributes weight and bias"))
    return w, b


def _require_linear_shapes(w, b, n_in: int, n_out: int, what: str) -> None:
    """The formula relu(X @ weight + bias) needs weight (in_units, units)."""
    if tuple(w.shape) != (n_in, n_out):
        fail(
            _(
                "weight of {what} has shape {shape}; expected ({n_in}, {n_out}) = (in_units, "
                "units), so that X @ weight works for X of shape (n, {n_in})"
            ).format(what=what, shape=tuple(w.shape), n_in=n_in, n_out=n_out)
        )
    if tuple(b.shape) != (n_out,):
        fail(
            _("bias of {what} has shape {shape}; expected ({n_out},) = (units,)").format(
                what=what, shape=tuple(b.shape), n_out=n_out
            )
        )


@check(
    "my_linear",
    "parameters",
    title=N_("Parameters weight (in_units, units) and bias (units,), both nn.Parameter"),
    hint=N_(
        "self.weight = nn.Parameter(torch.randn(in_units, units)); the same for bias with "
        "shape (units,)."
    ),
)
def test_linear_parameters(o):
    params = value(o, "parameters", step="construct", kind=list)
    names = [p.get("name") for p in params if isinstance(p, dict)]
    if sorted(names) != ["bias", "weight"]:
        if not value(o, "weight_is_parameter", kind=bool) or not value(
            o, "bias_is_parameter", kind=bool
        ):
            fail(
                _(
                    "weight and bias must be nn.Parameter objects (plain tensors are not "
                    "registered, so they are not trained or saved); parameters found: "
                    "{names}"
                ).format(names=", ".join(map(str, names)) or _("none"))
            )
        fail(
            _("expected parameters weight and bias, found {names}").format(
                names=", ".join(map(str, names)) or _("none")
            )
        )
    shapes = {p["name"]: tuple(p.get("shape", [])) for p in params}
    expect_shape(shapes["weight"], (5, 3), _("weight of MyLinear(5, 3)"))
    expect_shape(shapes["bias"], (3,), _("bias of MyLinear(5, 3)"))
    if not all(p.get("requires_grad") for p in params):
        fail(_("weight and bias must require gradients"))


@check(
    "my_linear",
    "formula",
    title=N_("Output equals relu(X @ weight + bias)"),
    hint=N_("Multiply X (n, in_units) by weight (in_units, units), add bias, apply ReLU."),
)
def test_linear_formula(o):
    w, b = _linear_params(o)
    out = tensor(o, "out", step="out")
    X = inputs("my_linear")["X"]
    if w.shape != (5, 3):
        fail(
            _("weight has shape {shape}; expected (5, 3) so that X @ weight works").format(
                shape=tuple(w.shape)
            )
        )
    expect_close(out, F.relu(X @ w + b), _("output of MyLinear(5, 3)"), **tolerance(o.device))


@check(
    "my_linear",
    "non_negative",
    title=N_("Output is non-negative"),
    hint=N_("The layer ends with a ReLU."),
)
def test_linear_non_negative(o):
    out = tensor(o, "out", step="out")
    if out.numel() and float(out.min()) < 0:
        fail(
            _("the output has negative values (minimum {value:.4g})").format(value=float(out.min()))
        )


@check(
    "my_linear",
    "gradients",
    title=N_("Gradients of weight and bias equal those of the formula"),
    hint=N_(
        "Use self.weight and self.bias directly in forward; reading .data cuts them out "
        "of autograd, so they get no gradient."
    ),
)
def test_linear_gradients(o):
    w, b = _linear_params(o)
    _require_linear_shapes(w, b, 5, 3, "MyLinear(5, 3)")
    require(o, "backward")
    for attr in ("weight", "bias"):
        if o.values.get(f"attr_grad_missing/{attr}", True):
            fail(
                _(
                    "{name} got no gradient after backward(): is forward reading .data or "
                    "detaching?"
                ).format(name=attr)
            )
    w = w.clone().requires_grad_(True)
    b = b.clone().requires_grad_(True)
    t = inputs("my_linear")
    (F.relu(t["X"] @ w + b) * t["G"]).sum().backward()
    expect_close(
        tensor(o, "attr_grad/weight"), w.grad, _("gradient of weight"), rtol=1e-4, atol=1e-5
    )
    expect_close(tensor(o, "attr_grad/bias"), b.grad, _("gradient of bias"), rtol=1e-4, atol=1e-5)


@check(
    "my_linear",
    "init",
    title=N_("Initial weight and bias look standard normal"),
    hint=N_("Draw both with torch.randn: mean 0, standard deviation 1."),
)
def test_linear_init(o):
    require(o, "init")
    require(o, "init_wide")
    for key, shape, what in (
        ("init/weight", (128, 256), "MyLinear(128, 256).weight"),
        ("init/bias", (256,), "MyLinear(128, 256).bias"),
        ("init_wide/bias", (8192,), "MyLinear(2, 8192).bias"),
    ):
        t = tensor(o, key, what=what)
        expect_shape(t.shape, shape, what)
        expect_distribution(t, what, "N(0, 1)", normal_cdf(0.0, 1.0), mean=0.0, std=1.0)


@check(
    "my_linear",
    "in_sequential",
    title=N_("nn.Sequential(MyLinear(64, 8), MyLinear(8, 1)) runs"),
    hint=N_("Shapes chain: (n, 64) -> (n, 8) -> (n, 1)."),
)
def test_linear_in_sequential(o):
    require(o, "sequential")
    expect_shape(value(o, "seq/shape", kind=list), (4, 1), _("output of the Sequential"))
    X = inputs("my_linear")["X64"]
    for i, (n_in, n_out) in enumerate(((64, 8), (8, 1))):
        w, b = tensor(o, f"seq/{i}.weight"), tensor(o, f"seq/{i}.bias")
        _require_linear_shapes(w, b, n_in, n_out, f"MyLinear({n_in}, {n_out})")
        X = F.relu(X @ w + b)
    expect_close(tensor(o, "seq/out"), X, _("output of the Sequential"), **tolerance(o.device))


@check("my_linear", "device", title=DEVICE_TITLE, hint=DEVICE_HINT_CREATED)
def test_linear_device(o):
    device_check(o)
