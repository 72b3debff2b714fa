"""Checks for storage.py: tensor_io, model_io."""

from __future__ import annotations

import torch

from grader.checks import check
from grader.checks.common import inputs
from grader.feedback import expect_close, fail, require, tensor, tolerance, value
from grader.i18n import N_, _

from . import fixtures
from .spec import gpu_model_state

KINDS = ("tensor", "list", "dict")


def _objects() -> dict:
    t = inputs("tensor_io")
    return {
        "tensor": t["tensor"],
        "list": [t["list/0"], t["list/1"]],
        "dict": {"weight": t["dict/weight"], "bias": t["dict/bias"], "steps": t["dict/steps"]},
    }


def _same(o, key: str, obj, what: str) -> None:
    """The loaded structure recorded under ``key`` equals ``obj``, dtypes included."""
    desc = value(o, key, kind=dict)
    if isinstance(obj, torch.Tensor):
        if desc.get("type") != "tensor":
            fail(
                _("{what}: expected a tensor, got a {type}").format(
                    what=what, type=desc.get("type")
                )
            )
        expect_close(tensor(o, f"{key}/value"), obj, what, rtol=0, atol=0)
    elif isinstance(obj, list):
        if desc.get("type") != "list" or desc.get("len") != len(obj):
            fail(
                _("{what}: expected a list of {n} tensors, got a {type} of {len}").format(
                    what=what, n=len(obj), type=desc.get("type"), len=desc.get("len", "?")
                )
            )
        for i, item in enumerate(obj):
            expect_close(tensor(o, f"{key}/{i}"), item, f"{what}[{i}]", rtol=0, atol=0)
    else:
        keys = desc.get("keys") or []
        # a dict equal to obj: the same keys, in any order
        if (
            desc.get("type") not in ("dict", "OrderedDict")
            or len(keys) != len(obj)
            or set(keys) != set(obj)
        ):
            fail(
                _("{what}: expected a dict with keys {keys}, got a {type} with keys {got}").format(
                    what=what,
                    keys=", ".join(obj),
                    type=desc.get("type"),
                    got=", ".join(map(str, desc.get("keys") or [])) or "-",
                )
            )
        for k, item in obj.items():
            expect_close(tensor(o, f"{key}/{k}"), item, f"{what}[{k!r}]", rtol=0, atol=0)


def _roundtrip(o, kind: str) -> None:
    require(o, f"save/{kind}")
    require(o, f"load/{kind}")
    _same(
        o,
        f"load/{kind}",
        _objects()[kind],
        _("load_tensors(path) after save_tensors({kind}, path)").format(kind=kind),
    )


# -- tensor_io ---------------------------------------------------------------------------
@check(
    "tensor_io",
    "tensor",
    title=N_("A tensor survives save_tensors / load_tensors"),
    hint=N_("torch.save(obj, path) and torch.load(path, weights_only=True)."),
)
def test_io_tensor(o):
    _roundtrip(o, "tensor")


@check(
    "tensor_io",
    "list",
    title=N_("A list of tensors comes back as a list"),
    hint=N_("Save the object as it is; do not convert lists to tuples or stack them."),
)
def test_io_list(o):
    _roundtrip(o, "list")


@check(
    "tensor_io",
    "dict",
    title=N_("A dict of tensors comes back as a dict, dtypes kept"),
    hint=N_("Save the object as it is; torch.save keeps dtypes such as float16 and int32."),
)
def test_io_dict(o):
    _roundtrip(o, "dict")


@check(
    "tensor_io",
    "exact_path",
    title=N_("Writes to exactly the given path (str or PathLike)"),
    hint=N_("Pass path straight to torch.save: no added extension, no other folder."),
)
def test_io_exact_path(o):
    for kind in KINDS:
        require(o, f"save/{kind}")
        if value(o, f"file/{kind}.size") is None:
            listing = value(o, f"file/{kind}.listing", kind=list)
            fail(
                _(
                    "save_tensors({kind}, path) wrote nothing at path; the folder holds: {files}"
                ).format(kind=kind, files=", ".join(map(str, listing)) or _("nothing"))
            )


@check(
    "tensor_io",
    "torch_format",
    title=N_("The file is in torch.save format: torch.load(path, weights_only=True) reads it"),
    hint=N_("Use torch.save, not pickle or numpy: other tools load the file with torch.load."),
)
def test_io_format(o):
    for kind in KINDS:
        require(o, f"save/{kind}")
        require(o, f"verify/{kind}")
        _same(
            o,
            f"verify/{kind}",
            _objects()[kind],
            _("torch.load(path, weights_only=True) of the file saved from a {kind}").format(
                kind=kind
            ),
        )


@check(
    "tensor_io",
    "reads_torch_save",
    title=N_("load_tensors reads a file written by torch.save"),
    hint=N_("torch.load(path, weights_only=True) reads any torch.save file of tensors."),
)
def test_io_reads(o):
    require(o, "load/given")
    t = inputs("tensor_io")
    _same(
        o,
        "load/given",
        {"given": t["tensor"] * 2, "ids": t["list/0"] + 1},
        _("load_tensors of a torch.save file"),
    )


@check(
    "tensor_io",
    "refuses_code",
    title=N_("load_tensors refuses a file that holds pickled code"),
    hint=N_(
        "torch.load(path, weights_only=True) refuses arbitrary Python objects; "
        "weights_only=False would run code hidden in the file."
    ),
)
def test_io_refuses_code(o):
    require(o, "load/given")
    if value(o, "evil.ran", kind=bool):
        fail(
            _(
                "load_tensors ran the code hidden in the file: never load untrusted files with "
                "weights_only=False"
            )
        )
    if "load/evil" not in o.errors:
        fail(
            _(
                "load_tensors returned normally from a file holding pickled code; it must raise "
                "an exception"
            )
        )
    if o.errors["load/evil"].get("kind") == "not_implemented":
        fail(_("not implemented yet (load_tensors raised NotImplementedError)"))


# -- model_io -------------------------------------------------------------------------------
def _original_state() -> dict:
    """The state of the model handed to save_params: sent by the grader."""
    t = inputs("model_io")
    return {k: t[f"original/{k}"] for k in fixtures.io_net().state_dict()}


def _original_output() -> torch.Tensor:
    ref = fixtures.io_net()
    ref.load_state_dict(_original_state())
    ref.eval()
    with torch.no_grad():
        return ref(inputs("model_io")["X"])


def _require_loaded(o) -> None:
    """load_params returned a model holding the saved parameters.  The
    properties of the clone (its own object, eval mode, one factory call)
    mean something only for a model that was really loaded."""
    require(o, "load")
    names = [n for n, _ in fixtures.io_net().named_parameters()]
    state = _original_state()
    for name in names:
        got = o.tensors.get(f"clone/state/{name}")
        if got is None or got.shape != state[name].shape or not torch.equal(got, state[name]):
            fail(
                _(
                    "the model returned by load_params does not hold the saved parameters "
                    "({name} differs or is missing), so this property cannot be "
                    "confirmed"
                ).format(name=name)
            )


@check(
    "model_io",
    "state_dict_only",
    title=N_("save_params writes only the state_dict (loads with weights_only=True)"),
    hint=N_("torch.save(net.state_dict(), path): parameters and buffers, not the pickled module."),
)
def test_model_state_dict(o):
    require(o, "save")
    if value(o, "file.size") is None:
        fail(_("save_params(net, path) wrote nothing at path"))
    require(o, "verify")
    _same(
        o, "verify", _original_state(), _("torch.load(path, weights_only=True) of the saved file")
    )


@check(
    "model_io",
    "clone_equal",
    title=N_("The clone's output equals the original's, exactly (batch norm included)"),
    hint=N_(
        "Save the whole state_dict (buffers such as running_mean too) and load it with "
        "load_state_dict."
    ),
)
def test_model_clone_equal(o):
    require(o, "load")
    out = tensor(o, "clone/out")
    expect_close(out, _original_output(), _("output of the loaded model"), **tolerance(o.device))
    expect_close(
        out,
        tensor(o, "original/out"),
        _("output of the loaded model compared with the original's"),
        rtol=0,
        atol=0,
    )


@check(
    "model_io",
    "distinct",
    title=N_("The clone is a new object with its own tensors"),
    hint=N_("Build a fresh model with factory() and load the saved state into it."),
)
def test_model_distinct(o):
    _require_loaded(o)
    if value(o, "clone.is_original", kind=bool):
        fail(_("load_params returned the original model, not a new one"))
    shared = value(o, "clone.shared_tensors", kind=list)
    if shared:
        fail(
            _("the clone shares tensors with the original: {keys}").format(
                keys=", ".join(map(str, shared[:5]))
            )
        )


@check(
    "model_io",
    "eval_mode",
    title=N_("The clone is returned in eval mode"),
    hint=N_("Call clone.eval() before returning it (clone.training is then False)."),
)
def test_model_eval(o):
    _require_loaded(o)
    modes = value(o, "clone.training", kind=list)
    if any(modes):
        fail(_("clone.training is True: call .eval() before returning the model"))


@check(
    "model_io",
    "factory_once",
    title=N_("load_params calls factory() exactly once"),
    hint=N_("net = factory() once; then net.load_state_dict(...)."),
)
def test_model_factory_once(o):
    _require_loaded(o)
    calls = value(o, "factory_calls", kind=int)
    if calls != 1:
        fail(_("factory() was called {n} times; expected once").format(n=calls))


@check(
    "model_io",
    "gpu_file",
    title=N_("A file saved from a GPU model loads on a CPU-only machine"),
    hint=N_(
        'torch.load(path, map_location="cpu", weights_only=True): without '
        "map_location, tensors saved on cuda:0 need a GPU to load."
    ),
)
def test_model_gpu_file(o):
    require(o, "load_gpu")
    ref = fixtures.io_net()
    ref.load_state_dict(gpu_model_state())
    ref.eval()
    with torch.no_grad():
        expected = ref(inputs("model_io")["X"])
    expect_close(
        tensor(o, "gpu/out"),
        expected,
        _("output of the model loaded from a GPU file"),
        rtol=1e-5,
        atol=1e-6,
    )
