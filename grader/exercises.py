"""The exercise catalog: ids, files, titles, probes and the inputs the
grader sends to each probe (generated here, in the trusted process)."""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass, field
from typing import Callable

import torch
from safetensors.torch import save as save_safetensors

from .child import fixtures
from .i18n import N_

FILES = ("blocks.py", "layers.py", "parameters.py", "initializers.py", "storage.py", "devices.py")


@dataclass(frozen=True)
class Exercise:
    id: str
    file: str
    title: str                      # N_-marked, translated when shown
    probe: str
    model: bool                     # checked on every available device
    seed: int
    inputs: Callable[[], dict] = field(default=lambda: {})
    params: dict = field(default_factory=dict)

    @property
    def module(self) -> str:
        return self.file.removesuffix(".py")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(g, *shape, dtype=torch.float32):
    return torch.randn(*shape, generator=g, dtype=dtype)


def mlp_inputs() -> dict:
    g = _gen(101)
    return {"X1": _randn(g, 1, 20), "X3": _randn(g, 3, 20), "X64": _randn(g, 64, 20),
            "G": _randn(g, 64, 10)}


def seeded_state(seed: int, make: Callable[[], torch.nn.Module]) -> dict[str, torch.Tensor]:
    """The state_dict of ``make()`` built under ``seed``, in the grader's own
    process (its global RNG untouched).  Probes load these values into the
    modules they hand to learner code, so that every reference value a check
    compares against comes from the grader, never from the child."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = make()
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def seq_inputs() -> dict:
    t = {"X": _randn(_gen(102), 5, 8)}
    for chain, make in fixtures.CHAINS.items():
        state = seeded_state(len(chain), lambda make=make: torch.nn.Sequential(*make()))
        t.update({f"{chain}/given/{k}": v for k, v in state.items()})
    return t


def fixed_inputs() -> dict:
    return {"X": torch.rand(2, 20, generator=_gen(103))}


def centered_inputs() -> dict:
    g = _gen(104)
    seq = seeded_state(3, lambda: torch.nn.Linear(8, 128))
    return {"X": _randn(g, 4, 8) * 3 + 2, "G": _randn(g, 4, 8),
            "Xbig": _randn(g, 64, 256) * 100 + 1000,
            "X64": _randn(g, 16, 16, dtype=torch.float64) + 5,
            "X3d": _randn(g, 3, 4, 5) * 2 - 1,
            "seq/weight": seq["weight"], "seq/bias": seq["bias"]}


def linear_inputs() -> dict:
    g = _gen(105)
    return {"X": _randn(g, 6, 5), "G": _randn(g, 6, 3), "X64": _randn(g, 4, 64)}


def nested_inputs() -> dict:
    return {"X": _randn(_gen(106), 3, 4)}


def tied_inputs() -> dict:
    g = _gen(107)
    return {"X": _randn(g, 5, 4), "G": _randn(g, 5, 1)}


def _file_tensor(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


class _Evil:
    """Pickled into a file; if ever unpickled, it creates a marker folder."""

    def __reduce__(self):
        return (os.mkdir, (".scratch/evil_ran",))


def tensor_io_inputs() -> dict:
    g = _gen(108)
    t = {
        "tensor": _randn(g, 3, 4),
        "list/0": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "list/1": _randn(g, 5, dtype=torch.float64),
        "dict/weight": _randn(g, 4, 2),
        "dict/bias": torch.zeros(2, dtype=torch.float16),
        "dict/steps": torch.tensor([1, 2, 3], dtype=torch.int32),
    }
    buf = io.BytesIO()
    torch.save({"given": t["tensor"] * 2, "ids": t["list/0"] + 1}, buf)
    t["trusted_file"] = _file_tensor(buf.getvalue())
    buf = io.BytesIO()
    torch.save({"weight": torch.ones(2), "payload": _Evil()}, buf)
    t["evil_file"] = _file_tensor(buf.getvalue())
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


@functools.lru_cache(maxsize=None)
def gpu_model_state() -> dict:
    torch.manual_seed(55)
    net = fixtures.io_net()
    with torch.no_grad():
        for i in range(2):
            net(torch.randn(10, 6, generator=_gen(200 + i)) * 3)
    return {k: v.clone() for k, v in net.state_dict().items()}


@functools.lru_cache(maxsize=None)
def original_model_state() -> dict:
    """The model that model_io saves: trained batch-norm statistics, eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(21)
        net = fixtures.io_net()
    X = _randn(_gen(109), 7, 6)
    net.train()
    with torch.no_grad():
        for i in range(3):
            net(X * (i + 1) + i)  # move batch-norm running statistics
    return {k: v.clone() for k, v in net.state_dict().items()}


def model_io_inputs() -> dict:
    t = {"X": _randn(_gen(109), 7, 6),
         "gpu_file": _file_tensor(gpu_state_file(gpu_model_state()))}
    t.update({f"original/{k}": v for k, v in original_model_state().items()})
    return t


def initializer_inputs(seed: int) -> Callable[[], dict]:
    def make() -> dict:
        state = seeded_state(seed, fixtures.init_net)
        t = {f"state/{k}": v for k, v in state.items()}
        t["no_bias/initial"] = seeded_state(7, lambda: torch.nn.Linear(30, 20, bias=False))["weight"]
        return t
    return make


EXERCISES: tuple[Exercise, ...] = (
    Exercise("mlp", "blocks.py", N_("MLP: a block with two layers"), "mlp", True, 1, mlp_inputs),
    Exercise("my_sequential", "blocks.py", N_("MySequential: your own container"),
             "my_sequential", True, 2, seq_inputs),
    Exercise("fixed_hidden_mlp", "blocks.py", N_("FixedHiddenMLP: constants and control flow"),
             "fixed_hidden_mlp", True, 3, fixed_inputs),
    Exercise("centered_layer", "layers.py", N_("CenteredLayer: a layer without parameters"),
             "centered_layer", True, 4, centered_inputs),
    Exercise("my_linear", "layers.py", N_("MyLinear: a layer with parameters"), "my_linear",
             True, 5, linear_inputs),
    Exercise("nested_blocks", "parameters.py", N_("Nested blocks: block1, block2, rgnet"),
             "nested_blocks", True, 6, nested_inputs),
    Exercise("parameter_access", "parameters.py",
             N_("Parameter access: count_parameters and param_shapes"), "parameter_access",
             False, 7),
    Exercise("tied_parameters", "parameters.py", N_("Tied parameters: tied_net"),
             "tied_parameters", True, 8, tied_inputs),
    Exercise("init_normal", "initializers.py", N_("init_normal: N(0, 0.01) weights, zero bias"),
             "initializer", False, 9,
             initializer_inputs(9), params={"function": "init_normal", "seed": 9}),
    Exercise("init_constant", "initializers.py", N_("init_constant: weights 1, zero bias"),
             "initializer", False, 10,
             initializer_inputs(10), params={"function": "init_constant", "seed": 10}),
    Exercise("init_xavier", "initializers.py", N_("init_xavier: Xavier uniform weights"),
             "initializer", False, 11,
             initializer_inputs(11), params={"function": "init_xavier", "seed": 11}),
    Exercise("init_42", "initializers.py", N_("init_42: weights 42"), "initializer", False, 12,
             initializer_inputs(12), params={"function": "init_42", "seed": 12}),
    Exercise("my_init", "initializers.py", N_("my_init: a custom distribution"), "initializer",
             False, 13, initializer_inputs(13), params={"function": "my_init", "seed": 13}),
    Exercise("tensor_io", "storage.py", N_("Saving and loading tensors"), "tensor_io", False, 14,
             tensor_io_inputs),
    Exercise("model_io", "storage.py", N_("Saving and loading model parameters"), "model_io",
             True, 15, model_io_inputs),
    Exercise("devices", "devices.py", N_("Devices: try_gpu and try_all_gpus"), "devices", False,
             16),
)

BY_ID = {ex.id: ex for ex in EXERCISES}


def encode_inputs(tensors: dict) -> bytes:
    return save_safetensors({k: v.contiguous() for k, v in tensors.items()}) if tensors else b""
