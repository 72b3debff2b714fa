"""Soluciones de referencia: capas propias / Reference solutions: custom layers."""

import torch
from torch import nn
from torch.nn import functional as F


class CenteredLayer(nn.Module):
    """ES: Resta la media de todos los elementos. / EN: Subtracts the mean of all elements."""

    def __init__(self) -> None:
        super().__init__()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(X.shape, device=X.device.type, dtype=X.dtype)  # not "cpu": the input's
        return X - X.mean() * ones


class MyLinear(nn.Module):
    """ES: Capa densa propia con ReLU. / EN: Home-made dense layer with ReLU."""

    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return F.relu(X @ self.weight + self.bias)
