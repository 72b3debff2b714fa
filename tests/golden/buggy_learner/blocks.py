"""Golden-report case: an MLP that keeps its layers in a plain list and prints
HTML, a MySequential that raises an exception with HTML in its message."""

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = [nn.Linear(20, 256), nn.Linear(256, 10)]  # not registered

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        print("<script>alert(1)</script>")
        return self.layers[1](F.relu(self.layers[0](X)))


class MySequential(nn.Module):
    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        for idx, module in enumerate(modules):
            self.add_module(str(idx), module)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if not self._modules:
            raise ValueError("<b>empty</b> & <img src=x onerror=alert(2)>")
        for module in self._modules.values():
            X = module(X)
        return X


class FixedHiddenMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("rand_weight", torch.rand((20, 20)))
        self.linear = nn.Linear(20, 20)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()
