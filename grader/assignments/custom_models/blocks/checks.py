"""Checks for blocks.py: mlp, my_sequential, fixed_hidden_mlp."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from grader.checks import check
from grader.checks.common import (
    DEVICE_HINT,
    DEVICE_HINT_CREATED,
    DEVICE_TITLE,
    device_check,
    fmt_linear,
    has_params,
    inputs,
    linear_desc,
    params_from,
)
from grader.feedback import (
    CheckFailed,
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
from grader.statistics import uniform_cdf

from . import fixtures

MLP_KEYS = ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]


# -- mlp -------------------------------------------------------------------------------
@check(
    "mlp",
    "structure",
    title=N_("Two registered layers: hidden = Linear(20, 256), out = Linear(256, 10)"),
    hint=N_(
        "Assign the layers as attributes in __init__ (self.hidden = nn.Linear(20, 256)) "
        "after super().__init__(), so that nn.Module registers them."
    ),
)
def test_mlp_structure(o):
    desc = value(o, "structure", step="construct", kind=dict)
    with_params = [(n, c) for n, c in desc.get("children", []) if has_params(c)]
    names = [n for n, _ in with_params]
    if names != ["hidden", "out"] and sorted(names) != ["hidden", "out"]:
        fail(
            _(
                "expected exactly two submodules with parameters, hidden and out; found: {found}"
            ).format(found=", ".join(f"{n} = {fmt_linear(c)}" for n, c in with_params) or _("none"))
        )
    kids = dict(with_params)
    for name, n_in, n_out in (("hidden", 20, 256), ("out", 256, 10)):
        if not linear_desc(kids[name], n_in, n_out):
            fail(
                _("{name} should be Linear({n_in}, {n_out}), found {found}").format(
                    name=name, n_in=n_in, n_out=n_out, found=fmt_linear(kids[name])
                )
            )


@check(
    "mlp",
    "output_shape",
    title=N_("Output shape (n, 10) for several n"),
    hint=N_("forward takes X of shape (n, 20) and returns shape (n, 10): out(relu(hidden(X)))."),
)
def test_mlp_output_shape(o):
    for n in (1, 3, 64):
        out = tensor(o, f"out{n}", step=f"out{n}")
        expect_shape(out.shape, (n, 10), _("output for X of shape ({n}, 20)").format(n=n))


def _mlp_reference(p: dict, X: torch.Tensor) -> torch.Tensor:
    h = F.relu(F.linear(X, p["hidden.weight"], p["hidden.bias"]))
    return F.linear(h, p["out.weight"], p["out.bias"])


@check(
    "mlp",
    "formula",
    title=N_("Output equals out(relu(hidden(X))) with the module's own parameters"),
    hint=N_("Apply hidden, then ReLU, then out; no extra activation on the output."),
)
def test_mlp_formula(o):
    require(o, "construct")
    p = params_from(o, "param/", MLP_KEYS, _("MLP"))
    for n in (1, 3, 64):
        out = tensor(o, f"out{n}", step=f"out{n}")
        expect_close(
            out,
            _mlp_reference(p, inputs("mlp")[f"X{n}"]),
            _("output for X of shape ({n}, 20)").format(n=n),
            **tolerance(o.device),
        )


@check(
    "mlp",
    "state_dict_keys",
    title=N_("state_dict() keys are hidden.weight, hidden.bias, out.weight, out.bias"),
    hint=N_(
        "The keys come from the attribute names: call the layers hidden and out, and do "
        "not keep them in a plain Python list."
    ),
)
def test_mlp_state_dict_keys(o):
    keys = value(o, "state_dict_keys", step="construct", kind=list)
    if sorted(keys) != sorted(MLP_KEYS):
        fail(
            _("expected state_dict() keys {expected}, got {observed}").format(
                expected=", ".join(MLP_KEYS), observed=", ".join(map(str, keys)) or _("none")
            )
        )


@check(
    "mlp",
    "gradients",
    title=N_("Gradients reach all four parameters"),
    hint=N_("Do not detach or use .data in forward; autograd must see every operation."),
)
def test_mlp_gradients(o):
    require(o, "backward")
    missing = value(o, "grad_missing", kind=list)
    if missing:
        fail(_("these parameters got no gradient: {names}").format(names=", ".join(missing)))
    p = {
        k: v.clone().requires_grad_(True)
        for k, v in params_from(o, "param/", MLP_KEYS, _("MLP")).items()
    }
    t = inputs("mlp")
    (_mlp_reference(p, t["X64"]) * t["G"]).sum().backward()
    for name in MLP_KEYS:
        expect_close(
            tensor(o, f"grad/{name}"),
            p[name].grad,
            _("gradient of {name}").format(name=name),
            rtol=1e-4,
            atol=1e-5,
        )


@check("mlp", "device", title=DEVICE_TITLE, hint=DEVICE_HINT)
def test_mlp_device(o):
    device_check(o)


# -- my_sequential -----------------------------------------------------------------------
def _chain_reference(chain: str) -> nn.Sequential:
    """nn.Sequential over the modules the probe gave, with the values the
    grader sent (never values reported by the child)."""
    ref = nn.Sequential(*fixtures.CHAINS[chain]())
    t = inputs("my_sequential")
    ref.load_state_dict({k: t[f"{chain}/given/{k}"] for k in ref.state_dict()})
    return ref


def _require_some_chain(o) -> None:
    """MySequential really ran at least one chain as nn.Sequential does.  The
    structural properties (class, names, registration, device) are facts the
    child reports; they count only for a container that computes."""
    X = inputs("my_sequential")["X"]
    for chain in fixtures.CHAINS:
        out = o.tensors.get(f"{chain}/out")
        if out is None or f"{chain}/out" in o.errors:
            continue
        with torch.no_grad():
            expected = _chain_reference(chain)(X)
        if (
            out.shape == expected.shape
            and out.dtype == expected.dtype
            and torch.allclose(out.double(), expected.double(), **tolerance(o.device))
        ):
            return
    require(o, "shapes/construct")
    require(o, "shapes/out")
    fail(
        _(
            "MySequential did not compute nn.Sequential's output for any of the test chains, "
            'so this property cannot be confirmed (see "Output equals '
            'nn.Sequential(*same_modules)(X)")'
        )
    )


@check(
    "my_sequential",
    "is_container",
    title=N_("A subclass of nn.Module, not of nn.Sequential"),
    hint=N_(
        "Write class MySequential(nn.Module) and implement the container yourself: that "
        "is the point of the exercise."
    ),
)
def test_seq_is_container(o):
    _require_some_chain(o)
    require(o, "shapes/construct")
    if not value(o, "shapes/is_module", kind=bool):
        fail(_("MySequential(...) is not an nn.Module"))
    if value(o, "shapes/is_sequential", kind=bool):
        fail(_("MySequential is a subclass of nn.Sequential; subclass nn.Module instead"))


@check(
    "my_sequential",
    "output",
    title=N_("Output equals nn.Sequential(*same_modules)(X)"),
    hint=N_(
        "In forward, pass X through every module in the order they were given, feeding "
        "each output to the next module."
    ),
)
def test_seq_output(o):
    X = inputs("my_sequential")["X"]
    for chain in fixtures.CHAINS:
        out = tensor(o, f"{chain}/out", step=f"{chain}/out")
        with torch.no_grad():
            expected = _chain_reference(chain)(X)
        try:
            expect_close(
                out,
                expected,
                _("output of the {chain} chain").format(chain=_(fixtures.CHAIN_NAMES[chain])),
                **tolerance(o.device),
            )
        except CheckFailed as exc:
            if chain != "repeated":
                raise
            fail(
                str(exc)
                + _(
                    ". In this chain the same module is given twice (positions 0 "
                    "and 2) and must run twice, as in nn.Sequential: "
                    "self.children() and named_children() list a module only once; "
                    "iterate over self._modules.values() instead"
                )
            )


@check(
    "my_sequential",
    "keys",
    title=N_('Children named "0", "1", …: same state_dict() keys as nn.Sequential'),
    hint=N_(
        "Register each module with self.add_module(str(idx), module) (or "
        "self._modules[str(idx)] = module)."
    ),
)
def test_seq_keys(o):
    _require_some_chain(o)
    for chain, make in fixtures.CHAINS.items():
        keys = value(o, f"{chain}/state_dict_keys", step=f"{chain}/construct", kind=list)
        expected = list(nn.Sequential(*make()).state_dict().keys())
        if keys != expected:
            fail(
                _(
                    "state_dict() keys for the {chain} chain: expected {expected}, got {observed}"
                ).format(
                    chain=_(fixtures.CHAIN_NAMES[chain]),
                    expected=", ".join(expected),
                    observed=", ".join(map(str, keys)) or _("none"),
                )
            )


@check(
    "my_sequential",
    "registration",
    title=N_("parameters() reaches every parameter of the given modules"),
    hint=N_("Modules kept in a plain list are invisible to nn.Module: register them as children."),
)
def test_seq_registration(o):
    _require_some_chain(o)
    for chain in fixtures.CHAINS:
        found = value(o, f"{chain}/params_found", step=f"{chain}/construct", kind=list)
        count = value(o, f"{chain}/params_count", kind=int)
        if not all(found) or count != len(found):
            fail(
                _(
                    "parameters() of the {chain} chain yields {count} tensors, {found} of the "
                    "{total} parameters of the given modules"
                ).format(
                    chain=_(fixtures.CHAIN_NAMES[chain]),
                    count=count,
                    found=sum(map(bool, found)),
                    total=len(found),
                )
            )


@check(
    "my_sequential",
    "empty",
    title=N_("MySequential() returns its input unchanged"),
    hint=N_("With no modules, the loop in forward does nothing and X is returned as it is."),
)
def test_seq_empty(o):
    _require_some_chain(o)
    out = tensor(o, "empty/out", step="empty/out")
    expect_close(out, inputs("my_sequential")["X"], _("output of MySequential()"), rtol=0, atol=0)


@check("my_sequential", "device", title=DEVICE_TITLE, hint=DEVICE_HINT_CREATED)
def test_seq_device(o):
    _require_some_chain(o)
    device_check(o)


# -- fixed_hidden_mlp ------------------------------------------------------------------
MAX_HALVINGS = 2000


def _fixed_reference(w, b, rw, X):
    X = F.linear(X, w, b)
    X = F.relu(X @ rw + 1)
    X = F.linear(X, w, b)
    if not bool(torch.isfinite(X).all()):
        fail(
            _(
                "before the halving loop the values are not finite (NaN or infinity) with the "
                "module's own linear and rand_weight, so the loop could never end"
            )
        )
    for _halving in range(MAX_HALVINGS):  # a finite float32 needs fewer than 300
        if not X.abs().sum() > 1:
            return X.sum()
        X /= 2
    fail(_("the halving loop did not end within {n} halvings").format(n=MAX_HALVINGS))


@check(
    "fixed_hidden_mlp",
    "scalar_output",
    title=N_("Output is a 0-dim tensor with |output| <= 1"),
    hint=N_("Halve X while X.abs().sum() > 1, then return X.sum(): a 0-dimensional tensor."),
)
def test_fixed_scalar(o):
    out = tensor(o, "out", step="out")
    if out.dim() != 0:
        fail(_("expected a 0-dim tensor, got shape {shape}").format(shape=tuple(out.shape)))
    if not bool(out.abs() <= 1):
        fail(_("expected |output| <= 1, got {value:.6g}").format(value=float(out)))


@check(
    "fixed_hidden_mlp",
    "formula",
    title=N_("Output equals the formula with the module's own linear and rand_weight"),
    hint=N_(
        "linear, then relu(X @ rand_weight + 1), then the same linear again, then the "
        "halving loop and the sum."
    ),
)
def test_fixed_formula(o):
    require(o, "construct")
    p = params_from(o, "param/", ["linear.weight", "linear.bias"], "FixedHiddenMLP")
    rw = o.tensors.get("rand_weight")
    if rw is None:
        fail(_("FixedHiddenMLP has no tensor attribute rand_weight"))
    out = tensor(o, "out", step="out")
    expected = _fixed_reference(
        p["linear.weight"], p["linear.bias"], rw, inputs("fixed_hidden_mlp")["X"].clone()
    )
    if out.shape != expected.shape:
        fail(_("expected a 0-dim tensor, got shape {shape}").format(shape=tuple(out.shape)))
    expect_close(out, expected, _("output"), rtol=1e-4, atol=1e-5)


@check(
    "fixed_hidden_mlp",
    "parameters",
    title=N_("Parameters are exactly linear.weight and linear.bias"),
    hint=N_("Use one nn.Linear(20, 20) twice; rand_weight is a buffer, not a parameter."),
)
def test_fixed_parameters(o):
    params = value(o, "parameters", step="construct", kind=list)
    names = [p.get("name") for p in params if isinstance(p, dict)]
    if names != ["linear.weight", "linear.bias"]:
        fail(
            _("expected parameters linear.weight, linear.bias; got {names}").format(
                names=", ".join(map(str, names)) or _("none")
            )
        )


@check(
    "fixed_hidden_mlp",
    "buffer",
    title=N_("rand_weight is a registered buffer of shape (20, 20) with values in [0, 1)"),
    hint=N_(
        'self.register_buffer("rand_weight", torch.rand((20, 20))): saved in '
        "state_dict(), moved with the module, never trained."
    ),
)
def test_fixed_buffer(o):
    buffers = value(o, "buffers", step="construct", kind=list)
    kind = value(o, "rand_weight.kind", kind=str)
    names = [b.get("name") for b in buffers if isinstance(b, dict)]
    if "rand_weight" not in names:
        if kind == "parameter":
            fail(_("rand_weight is an nn.Parameter, not a buffer: it would be trained"))
        if kind == "tensor":
            fail(
                _(
                    "rand_weight is a plain tensor attribute, not a registered buffer: it is not "
                    "in state_dict() and stays behind when the model moves"
                )
            )
        fail(_("FixedHiddenMLP has no buffer called rand_weight"))
    rw = tensor(o, "rand_weight")
    expect_shape(rw.shape, (20, 20), "rand_weight")
    lo, hi = float(rw.min()), float(rw.max())
    if lo < 0 or hi >= 1:
        fail(
            _(
                "rand_weight values should lie in [0, 1) (torch.rand); observed range "
                "[{lo:.4g}, {hi:.4g}]"
            ).format(lo=lo, hi=hi)
        )
    if "rand_weight" not in value(o, "state_dict_keys", kind=list):
        fail(_("rand_weight is missing from state_dict()"))
    expect_distribution(
        rw,
        "rand_weight",
        "U(0, 1) (torch.rand)",
        uniform_cdf(0.0, 1.0),
        mean=0.5,
        std=math.sqrt(1 / 12),
    )


@check(
    "fixed_hidden_mlp",
    "constant",
    title=N_("rand_weight gets no gradient and is unchanged by a training step"),
    hint=N_(
        "A buffer is constant: no requires_grad, not in parameters(), so the optimizer "
        "never sees it."
    ),
)
def test_fixed_constant(o):
    require(o, "train_step")
    if o.values.get("train.rand_weight_grad"):
        fail(_("rand_weight received a gradient during backward()"))
    before = tensor(o, "rand_weight", what="rand_weight")
    after = tensor(o, "train.rand_weight_after", what=_("rand_weight after the step"))
    expect_close(after, before, _("rand_weight after one SGD step"), rtol=0, atol=0)


@check("fixed_hidden_mlp", "device", title=DEVICE_TITLE, hint=DEVICE_HINT)
def test_fixed_device(o):
    device_check(o)
