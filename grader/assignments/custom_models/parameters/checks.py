"""Checks for parameters.py: nested_blocks, parameter_access, tied_parameters."""

from __future__ import annotations

import torch

from grader.checks import check
from grader.checks.common import (
    DEVICE_HINT_CREATED,
    DEVICE_TITLE,
    device_check,
    fmt_linear,
    inputs,
    linear_desc,
)
from grader.feedback import expect_close, expect_shape, fail, require, tensor, tolerance, value
from grader.i18n import N_, _

from . import fixtures

BLOCK1 = [("0", 4, 8), ("1", None, None), ("2", 8, 4), ("3", None, None)]


def _children(desc: dict) -> list:
    return [(n, c) for n, c in desc.get("children", [])]


def _block1_problem(desc: dict, what: str) -> str | None:
    if not desc.get("is_sequential"):
        return _("{what} should be an nn.Sequential, found {type}").format(
            what=what, type=desc.get("type", "?").rsplit(".", 1)[-1]
        )
    kids = _children(desc)
    found = ", ".join(fmt_linear(c) for _, c in kids)
    expected = "Linear(4, 8), ReLU, Linear(8, 4), ReLU"
    if len(kids) != 4:
        return _("{what}: expected {expected}; found {found}").format(
            what=what, expected=expected, found=found or _("nothing")
        )
    for (name, c), (want_name, n_in, n_out) in zip(kids, BLOCK1):
        ok = linear_desc(c, n_in, n_out) if n_in else c.get("is_relu")
        if not ok or name != want_name:
            return _("{what}: expected {expected}; found {found}").format(
                what=what, expected=expected, found=found
            )
    return None


def _block2_problem(desc: dict, what: str) -> str | None:
    if not desc.get("is_sequential"):
        return _("{what} should be an nn.Sequential").format(what=what)
    names = [n for n, _ in _children(desc)]
    want = [f"block {i}" for i in range(4)]
    if names != want:
        return _("{what}: expected children named {expected}; found {found}").format(
            what=what,
            expected=", ".join(f'"{n}"' for n in want),
            found=", ".join(f'"{n}"' for n in names) or _("none"),
        )
    for name, child in _children(desc):
        problem = _block1_problem(child, f'{what}["{name}"]')
        if problem:
            return problem
    return None


# -- nested_blocks ------------------------------------------------------------------------
@check(
    "nested_blocks",
    "block1",
    title=N_("block1() is Sequential(Linear(4, 8), ReLU, Linear(8, 4), ReLU)"),
    hint=N_("Return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())."),
)
def test_block1(o):
    problem = _block1_problem(value(o, "block1", step="block1", kind=dict), "block1()")
    if problem:
        fail(problem)


@check(
    "nested_blocks",
    "block2",
    title=N_('block2(): four distinct block1() added as "block 0" … "block 3"'),
    hint=N_(
        "Call block1() inside the loop (a new instance each time) and use "
        'net.add_module(f"block {i}", block1()).'
    ),
)
def test_block2(o):
    problem = _block2_problem(value(o, "block2", step="block2", kind=dict), "block2()")
    if problem:
        fail(problem)
    distinct = value(o, "block2.distinct", kind=int)
    if distinct != 4:
        fail(
            _(
                "block2() holds {n} distinct block1 instances; expected 4 (the same instance "
                "added four times shares its parameters)"
            ).format(n=distinct)
        )


@check(
    "nested_blocks",
    "rgnet",
    title=N_("rgnet() is Sequential(block2(), Linear(4, 1)): 309 parameters, output (n, 1)"),
    hint=N_("nn.Sequential(block2(), nn.Linear(4, 1))."),
)
def test_rgnet(o):
    desc = value(o, "rgnet", step="rgnet", kind=dict)
    kids = _children(desc)
    if not desc.get("is_sequential") or len(kids) != 2 or not linear_desc(kids[1][1], 4, 1):
        fail(
            _("rgnet() should be nn.Sequential(block2(), nn.Linear(4, 1)); found: {found}").format(
                found=", ".join(fmt_linear(c) for _, c in kids) or _("nothing")
            )
        )
    problem = _block2_problem(kids[0][1], "rgnet()[0]")
    if problem:
        fail(problem)
    numel = value(o, "rgnet.numel", kind=int)
    if numel != 309:
        fail(_("rgnet() has {n} scalar parameters; expected 309").format(n=numel))
    out = tensor(o, "out", step="out")
    X = inputs("nested_blocks")["X"]
    expect_shape(out.shape, (X.shape[0], 1), _("output of rgnet()"))
    ref = fixtures.nested_net(blocks=4)
    ref.load_state_dict({k: tensor(o, f"state/{k}") for k in ref.state_dict()})
    with torch.no_grad():
        expect_close(out, ref(X), _("output of rgnet()"), **tolerance(o.device))


@check(
    "nested_blocks",
    "nested_access",
    title=N_('Nested access: rgnet()[0].get_submodule("block 1")[0].bias'),
    hint=N_('Child names must be exactly "block 0" … "block 3" so that get_submodule finds them.'),
)
def test_nested_access(o):
    shape = value(o, "nested_access.shape", step="nested_access", kind=list)
    expect_shape(shape, (8,), 'rgnet()[0].get_submodule("block 1")[0].bias')


@check("nested_blocks", "device", title=DEVICE_TITLE, hint=DEVICE_HINT_CREATED)
def test_nested_device(o):
    device_check(o)


# -- parameter_access ------------------------------------------------------------------------
def _expected_count(case: str) -> int:
    return sum(p.numel() for p in fixtures.PARAMETER_CASES[case]().parameters())


def _expected_shapes(case: str) -> list:
    return [[n, list(p.shape)] for n, p in fixtures.PARAMETER_CASES[case]().named_parameters()]


def _check_count(o, case: str, why: str) -> None:
    got = value(o, f"count/{case}", step=f"count/{case}", kind=dict)
    want = _expected_count(case)
    if got.get("type") != "int":
        fail(
            _("count_parameters({case} network) returned a {type}; expected an int").format(
                case=_(fixtures.CASE_NAMES[case]), type=got.get("type")
            )
        )
    if got.get("value") != want:
        fail(
            _("count_parameters({case} network) returned {got}; expected {want} ({why})").format(
                case=_(fixtures.CASE_NAMES[case]), got=got.get("value"), want=want, why=_(why)
            )
        )


def _check_shapes(o, case: str, why: str) -> None:
    got = value(o, f"shapes/{case}", step=f"shapes/{case}", kind=dict)
    if got.get("type") != "dict":
        fail(
            _("param_shapes({case} network) returned a {type}; expected a dict").format(
                case=_(fixtures.CASE_NAMES[case]), type=got.get("type")
            )
        )
    items = got.get("items") or []
    observed = [[i.get("key"), i.get("shape")] for i in items]
    expected = _expected_shapes(case)

    def show(pairs) -> str:
        return ", ".join(f"{k}: {tuple(v) if v is not None else '?'}" for k, v in pairs)

    if observed != expected:
        fail(
            _(
                "param_shapes({case} network) returned {{{got}}}; expected {{{want}}} ({why})"
            ).format(
                case=_(fixtures.CASE_NAMES[case]),
                got=show(observed),
                want=show(expected),
                why=_(why),
            )
        )
    for i in items:
        if not i.get("is_tuple", i.get("value_type") == "tuple") or not i.get("ints"):
            fail(
                _(
                    "param_shapes: the value for {key} is a {type}; expected a tuple of ints, "
                    "e.g. tuple(p.shape)"
                ).format(key=i.get("key"), type=i.get("value_type"))
            )


@check(
    "parameter_access",
    "count_plain_nested",
    title=N_("count_parameters on plain and nested networks"),
    hint=N_(
        "Add p.numel() over net.parameters(): it walks the module itself and every "
        "submodule (net.children() would miss a module's own parameters)."
    ),
)
def test_count_plain_nested(o):
    _check_count(o, "plain", N_("every scalar of every parameter"))
    _check_count(o, "nested", N_("parameters of nested blocks included"))
    _check_count(o, "linear", N_("a module's own parameters count too, not only its children's"))
    _check_count(o, "own", N_("a module's own parameters count too, not only its children's"))


@check(
    "parameter_access",
    "count_tied",
    title=N_("count_parameters counts a tied parameter once"),
    hint=N_(
        "net.parameters() yields a shared parameter once; named_parameters("
        "remove_duplicate=False) or a walk over modules would count it twice."
    ),
)
def test_count_tied(o):
    _check_count(o, "tied", N_("the shared layer counted once"))


@check(
    "parameter_access",
    "count_frozen",
    title=N_("count_parameters counts frozen parameters"),
    hint=N_(
        "Frozen parameters (requires_grad=False) are still parameters: do not filter on "
        "requires_grad."
    ),
)
def test_count_frozen(o):
    _check_count(o, "frozen", N_("frozen parameters included"))


@check(
    "parameter_access",
    "count_buffers",
    title=N_("count_parameters does not count buffers"),
    hint=N_(
        "state_dict() also holds buffers such as batch-norm running statistics; count "
        "net.parameters() only."
    ),
)
def test_count_buffers(o):
    _check_count(o, "buffers", N_("buffers such as running_mean are not parameters"))


@check(
    "parameter_access",
    "shapes_plain_nested",
    title=N_("param_shapes on plain and nested networks: names, order, tuples"),
    hint=N_("{name: tuple(p.shape) for name, p in net.named_parameters()}."),
)
def test_shapes_plain_nested(o):
    _check_shapes(o, "plain", N_("names and order of named_parameters()"))
    _check_shapes(o, "nested", N_("qualified names of nested parameters"))
    _check_shapes(
        o, "linear", N_("a module's own parameters are listed too, not only its children's")
    )
    _check_shapes(o, "own", N_("a module's own parameters are listed too, not only its children's"))


@check(
    "parameter_access",
    "shapes_tied",
    title=N_("param_shapes lists a tied parameter once"),
    hint=N_("named_parameters() already removes duplicates; keep its first name."),
)
def test_shapes_tied(o):
    _check_shapes(o, "tied", N_("the shared layer appears once, under its first name"))


@check(
    "parameter_access",
    "shapes_frozen_buffers",
    title=N_("param_shapes includes frozen parameters and excludes buffers"),
    hint=N_("Use named_parameters(), not state_dict(), and do not filter on requires_grad."),
)
def test_shapes_frozen_buffers(o):
    _check_shapes(o, "frozen", N_("frozen parameters included"))
    _check_shapes(o, "buffers", N_("buffers are not parameters"))


# -- tied_parameters ------------------------------------------------------------------------
TIED = [(4, 8), None, (8, 8), None, (8, 8), None, (8, 1)]


@check(
    "tied_parameters",
    "structure",
    title=N_("tied_net(): Linear(4, 8), ReLU, shared, ReLU, shared, ReLU, Linear(8, 1)"),
    hint=N_("Build shared = nn.Linear(8, 8) once and put the same object at positions 2 and 4."),
)
def test_tied_structure(o):
    desc = value(o, "structure", step="construct", kind=dict)
    kids = _children(desc)
    ok = (
        desc.get("is_sequential")
        and len(kids) == 7
        and all(
            (linear_desc(c, *want) if want else c.get("is_relu"))
            for (_, c), want in zip(kids, TIED)
        )
    )
    if not ok:
        fail(
            _(
                "expected Linear(4, 8), ReLU, Linear(8, 8), ReLU, Linear(8, 8), ReLU, "
                "Linear(8, 1); found {found}"
            ).format(found=", ".join(fmt_linear(c) for _, c in kids) or _("nothing"))
        )


@check(
    "tied_parameters",
    "tie",
    title=N_("net[2] and net[4] share their parameters"),
    hint=N_(
        "A deep copy or a second nn.Linear(8, 8) has its own parameters; reuse the same "
        "module object."
    ),
)
def test_tied_identity(o):
    require(o, "construct")
    if not value(o, "weight_is", kind=bool) or not value(o, "bias_is", kind=bool):
        fail(_("net[2].weight is not net[4].weight: the two layers are not tied"))
    seen = value(o, "change_seen", step="change", kind=(int, float))
    if seen != 100.0:
        fail(
            _("after net[2].weight[0, 0] = 100, net[4].weight[0, 0] is {value:g}").format(
                value=seen
            )
        )


@check(
    "tied_parameters",
    "parameter_count",
    title=N_("parameters() yields 6 tensors"),
    hint=N_("A tied layer's parameters are listed once: 2 + 2 + 2."),
)
def test_tied_count(o):
    n = value(o, "n_parameters", step="construct", kind=int)
    if n != 6:
        fail(_("parameters() yields {n} tensors; expected 6").format(n=n))


def _tied_reference(o):
    ref = fixtures.tied_net()
    state = {k: tensor(o, f"state/{k}") for k in ref.state_dict()}
    ref.load_state_dict(state)
    return ref


@check(
    "tied_parameters",
    "shared_gradient",
    title=N_("The shared weight's gradient is the sum over its two uses"),
    hint=N_("With a real tie, autograd adds the gradients of both uses into one .grad."),
)
def test_tied_gradient(o):
    require(o, "backward")
    ref = _tied_reference(o)
    t = inputs("tied_parameters")
    (ref(t["X"]) * t["G"]).sum().backward()
    expect_close(
        tensor(o, "shared_grad", what="net[2].weight.grad"),
        ref[2].weight.grad,
        _("gradient of the shared weight net[2].weight"),
        rtol=1e-4,
        atol=1e-5,
    )


@check(
    "tied_parameters",
    "output",
    title=N_("Output has shape (n, 1) and the expected values"),
    hint=N_("The network ends with nn.Linear(8, 1)."),
)
def test_tied_output(o):
    out = tensor(o, "out", step="out")
    X = inputs("tied_parameters")["X"]
    expect_shape(out.shape, (X.shape[0], 1), _("output of tied_net()"))
    with torch.no_grad():
        expect_close(out, _tied_reference(o)(X), _("output of tied_net()"), **tolerance(o.device))


@check("tied_parameters", "device", title=DEVICE_TITLE, hint=DEVICE_HINT_CREATED)
def test_tied_device(o):
    device_check(o)
