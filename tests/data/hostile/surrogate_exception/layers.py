"""Hostile (and easy to hit by accident): exception texts that are not valid
Unicode. CenteredLayer.forward raises ValueError("\\udcff") -- a lone
surrogate -- and MyLinear.forward raises one with a file name read with
os.fsdecode, which turns bytes that are not UTF-8 into such surrogates.
Neither can be written as UTF-8: the grader must still write results.json and
the report."""

import os

import torch
from torch import nn


class CenteredLayer(nn.Module):
    """ES: Resta la media de todos los elementos. / EN: Subtracts the mean of all elements."""

    def __init__(self) -> None:
        super().__init__()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        raise ValueError("bad value \udcff in a\udcf1o")


class MyLinear(nn.Module):
    """ES: Capa densa propia con ReLU. / EN: Home-made dense layer with ReLU."""

    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        raise RuntimeError(os.fsdecode(b"datos_a\xf1o.csv") + " not found")
