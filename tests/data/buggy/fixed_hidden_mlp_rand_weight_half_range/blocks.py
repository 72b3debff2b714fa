"""Soluciones de referencia: bloques / Reference solutions: blocks."""

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """ES: MLP 20 -> 256 -> 10 con ReLU. / EN: MLP 20 -> 256 -> 10 with ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(X)))


class MySequential(nn.Module):
    """ES: Contenedor secuencial propio. / EN: Home-made sequential container."""

    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        for idx, module in enumerate(modules):
            self.add_module(str(idx), module)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        # _modules keeps every entry, even the same module registered twice.
        for module in self._modules.values():
            X = module(X)
        return X


class FixedHiddenMLP(nn.Module):
    """ES: Bloque con peso constante (buffer) y capa compartida.

    EN: Block with a constant weight (buffer) and a shared layer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("rand_weight", torch.empty(20, 20).uniform_(0, 0.5))
        self.linear = nn.Linear(20, 20)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()
