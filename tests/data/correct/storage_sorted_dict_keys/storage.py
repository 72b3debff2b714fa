"""Soluciones de referencia: lectura y escritura de archivos / Reference solutions: file I/O."""

import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

PathLike = str | os.PathLike[str]


def save_tensors(obj: Any, path: PathLike) -> None:
    """ES: Guarda un tensor, lista o dict de tensores.

    EN: Saves a tensor, a list or a dict of tensors.
    """
    if isinstance(obj, dict):
        obj = {k: obj[k] for k in sorted(obj)}  # tidy: keys in alphabetical order
    torch.save(obj, path)


def load_tensors(path: PathLike) -> Any:
    """ES: Carga sin ejecutar código (weights_only).

    EN: Loads without running code (weights_only).
    """
    return torch.load(path, weights_only=True)


def save_params(net: nn.Module, path: PathLike) -> None:
    """ES: Guarda solo el state_dict(). / EN: Saves the state_dict() only."""
    torch.save(net.state_dict(), path)


def load_params(factory: Callable[[], nn.Module], path: PathLike) -> nn.Module:
    """ES: Modelo nuevo con los parámetros guardados, en modo eval.

    EN: Fresh model holding the saved parameters, in eval mode.
    """
    net = factory()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net.eval()
    return net
