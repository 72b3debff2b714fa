"""Building the tensors the grader sends to a probe (in the grader's own
process, its global random state untouched), and their wire format."""

from __future__ import annotations

from collections.abc import Callable

import torch
from safetensors.torch import save as save_safetensors


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(g: torch.Generator, *shape, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=dtype)


def seeded_state(seed: int, make: Callable[[], torch.nn.Module]) -> dict[str, torch.Tensor]:
    """The state_dict of ``make()`` built under ``seed``, in the grader's own
    process (its global RNG untouched).  Probes load these values into the
    modules they hand to learner code, so that every reference value a check
    compares against comes from the grader, never from the child."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = make()
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def file_tensor(data: bytes) -> torch.Tensor:
    """Bytes (a file the probe writes for learner code to read) as a tensor."""
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def encode_inputs(tensors: dict) -> bytes:
    return save_safetensors({k: v.contiguous() for k, v in tensors.items()}) if tensors else b""
