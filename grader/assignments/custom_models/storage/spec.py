"""storage.py: saving and loading tensors and model parameters."""

from __future__ import annotations

import functools
import io
import os

import torch

from grader.assignment import Exercise
from grader.i18n import N_
from grader.inputs import file_tensor, gen, randn

from . import fixtures

FILE = "storage.py"
ORDER = 5


class _Evil:
    """Pickled into a file; if ever unpickled, it creates a marker folder."""

    def __reduce__(self):
        return (os.mkdir, (".scratch/evil_ran",))


def tensor_io_inputs() -> dict:
    g = gen(108)
    t = {
        "tensor": randn(g, 3, 4),
        "list/0": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "list/1": randn(g, 5, dtype=torch.float64),
        "dict/weight": randn(g, 4, 2),
        "dict/bias": torch.zeros(2, dtype=torch.float16),
        "dict/steps": torch.tensor([1, 2, 3], dtype=torch.int32),
    }
    buf = io.BytesIO()
    torch.save({"given": t["tensor"] * 2, "ids": t["list/0"] + 1}, buf)
    t["trusted_file"] = file_tensor(buf.getvalue())
    buf = io.BytesIO()
    torch.save({"weight": torch.ones(2), "payload": _Evil()}, buf)
    t["evil_file"] = file_tensor(buf.getvalue())
    return t


def gpu_state_file(state: dict) -> bytes:
    """torch.save bytes whose storages say they were on ``cuda:0``, written on
    any machine: loading them without ``map_location`` needs a GPU."""
    import torch.serialization as ser

    original = ser.location_tag
    ser.location_tag = lambda storage: "cuda:0"
    try:
        buf = io.BytesIO()
        torch.save(state, buf)
    finally:
        ser.location_tag = original
    return buf.getvalue()


@functools.cache
def gpu_model_state() -> dict:
    torch.manual_seed(55)
    net = fixtures.io_net()
    with torch.no_grad():
        for i in range(2):
            net(torch.randn(10, 6, generator=gen(200 + i)) * 3)
    return {k: v.clone() for k, v in net.state_dict().items()}


@functools.cache
def original_model_state() -> dict:
    """The model that model_io saves: trained batch-norm statistics, eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(21)
        net = fixtures.io_net()
    X = randn(gen(109), 7, 6)
    net.train()
    with torch.no_grad():
        for i in range(3):
            net(X * (i + 1) + i)  # move batch-norm running statistics
    return {k: v.clone() for k, v in net.state_dict().items()}


def model_io_inputs() -> dict:
    t = {"X": randn(gen(109), 7, 6), "gpu_file": file_tensor(gpu_state_file(gpu_model_state()))}
    t.update({f"original/{k}": v for k, v in original_model_state().items()})
    return t


EXERCISES = (
    Exercise(
        id="tensor_io",
        file=FILE,
        title=N_("Saving and loading tensors"),
        probe="tensor_io",
        seed=14,
        inputs=tensor_io_inputs,
        verify_files={f"file/{k}": f"verify/{k}" for k in ("tensor", "list", "dict")},
        # load_tensors must refuse a file holding pickled code
        expected_raises=("load/evil",),
    ),
    Exercise(
        id="model_io",
        file=FILE,
        title=N_("Saving and loading model parameters"),
        probe="model_io",
        model=True,
        seed=15,
        inputs=model_io_inputs,
        verify_files={"file": "verify"},
    ),
)
