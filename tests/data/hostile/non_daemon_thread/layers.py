"""Hostile: CenteredLayer.forward starts a non-daemon thread that never ends (and returns the right value)."""

import threading
import time

import torch
from torch import nn
from torch.nn import functional as F


def _forever():
    while True:
        time.sleep(0.05)


class CenteredLayer(nn.Module):
    """ES: Resta la media de todos los elementos. / EN: Subtracts the mean of all elements."""

    def __init__(self) -> None:
        super().__init__()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if not getattr(CenteredLayer, '_started', False):
            CenteredLayer._started = True
            threading.Thread(target=_forever, daemon=False).start()
        return X - X.mean()


class MyLinear(nn.Module):
    """ES: Capa densa propia con ReLU. / EN: Home-made dense layer with ReLU."""

    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return F.relu(X @ self.weight + self.bias)
