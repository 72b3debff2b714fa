"""Probes for storage.py: tensor_io, model_io."""

from __future__ import annotations

import os
import pathlib

import torch

from .. import N_, describe_loaded, label
from . import fixtures

MAX_FILE = 16 * 1024 * 1024


def _record_file(rec, key: str, path: str) -> None:
    folder = os.path.dirname(path)
    rec.value(f"{key}.listing", sorted(os.listdir(folder)))
    if os.path.isfile(path):
        size = os.path.getsize(path)
        rec.value(f"{key}.size", size)
        if 0 < size <= MAX_FILE:
            with open(path, "rb") as fh:
                rec.tensor(
                    f"{key}.bytes", torch.frombuffer(bytearray(fh.read()), dtype=torch.uint8)
                )
    else:
        rec.value(f"{key}.size", None)


def _write(path: str, data: torch.Tensor) -> None:
    with open(path, "wb") as fh:
        fh.write(data.numpy().tobytes())


def _objects(t) -> dict:
    return {
        "tensor": t["tensor"],
        "list": [t["list/0"], t["list/1"]],
        "dict": {"weight": t["dict/weight"], "bias": t["dict/bias"], "steps": t["dict/steps"]},
    }


def tensor_io(rec, mod, t, device, params):
    base = os.path.join(os.getcwd(), ".scratch")
    for kind, obj in _objects(t).items():
        folder = os.path.join(base, f"save_{kind}")
        os.makedirs(folder)
        path = os.path.join(folder, f"{kind}.bin")
        target = pathlib.Path(path) if kind == "dict" else path
        with rec.step(f"save/{kind}", f"save_tensors({kind}, path)"):
            mod.save_tensors(obj, target)
        _record_file(rec, f"file/{kind}", path)
        with rec.step(
            f"load/{kind}",
            label(
                N_("load_tensors(path) for the saved {case}"),
                case=label(fixtures.OBJECT_NAMES[kind]),
            ),
        ):
            describe_loaded(rec, f"load/{kind}", mod.load_tensors(target))
    trusted = os.path.join(base, "given.pt")
    _write(trusted, t["trusted_file"])
    with rec.step("load/given", label(N_("load_tensors(<a file written by torch.save>)"))):
        describe_loaded(rec, "load/given", mod.load_tensors(trusted))
    evil = os.path.join(base, "evil.pt")
    _write(evil, t["evil_file"])
    marker = os.path.join(base, "evil_ran")
    with rec.step("load/evil", label(N_("load_tensors(<a file holding pickled code>)"))):
        describe_loaded(rec, "load/evil", mod.load_tensors(evil))
    rec.value("evil.ran", os.path.exists(marker))


def model_io(rec, mod, t, device, params):
    base = os.path.join(os.getcwd(), ".scratch")
    # the original's values come from the grader (inputs "original/..."): the
    # checks compare against what the grader sent, never against what this
    # process reports about its own model
    net = fixtures.io_net()
    net.load_state_dict({k: t[f"original/{k}"] for k in net.state_dict()})
    net.to(device)
    net.eval()
    with torch.no_grad():
        rec.tensor("original/out", net(t["X"].to(device)))
    path = os.path.join(base, "params.bin")
    with rec.step("save", "save_params(net, path)"):
        mod.save_params(net, path)
    _record_file(rec, "file", path)
    calls = []

    def factory():
        calls.append(1)
        return fixtures.io_net().to(device)

    with rec.step("load", "load_params(factory, path)") as s:
        clone = mod.load_params(factory, path)
        rec.value("factory_calls", len(calls))
        rec.value("clone.type", type(clone).__name__)
        rec.value("clone.is_original", clone is net)
        rec.value("clone.training", [bool(m.training) for m in clone.modules()])
        own = {p.data_ptr() for p in net.state_dict().values()}
        rec.value(
            "clone.shared_tensors",
            [k for k, v in clone.state_dict().items() if v.data_ptr() in own],
        )
        for key, value in clone.state_dict().items():
            rec.tensor(f"clone/state/{key}", value)
        # the values are compared in eval mode whatever mode the clone came
        # back in: a missing .eval() costs the eval-mode check only
        clone.eval()
        with torch.no_grad():
            out = clone(t["X"].to(device))
        rec.tensor("clone/out", out)
    del s
    gpu_path = os.path.join(base, "from_gpu.bin")
    with open(gpu_path, "wb") as fh:
        fh.write(t["gpu_file"].numpy().tobytes())
    calls.clear()
    with rec.step("load_gpu", label(N_("load_params(factory, <a file saved from a GPU model>)"))):
        clone = mod.load_params(lambda: fixtures.io_net(), gpu_path)
        clone.eval()  # the mode is the eval-mode check's business
        with torch.no_grad():
            rec.tensor("gpu/out", clone(t["X"]))
