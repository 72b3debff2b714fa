"""Soluciones de referencia: dispositivos / Reference solutions: devices."""

import torch

from storage import save_tensors  # noqa: F401


def try_gpu(i: int = 0) -> torch.device:
    """ES: cuda:i si existe, si no cpu. / EN: cuda:i if it exists, else cpu."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    """ES: Todas las GPU, o [cpu]. / EN: Every GPU, or [cpu]."""
    devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return devices or [torch.device("cpu")]
