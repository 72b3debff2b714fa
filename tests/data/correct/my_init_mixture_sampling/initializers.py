"""Entrega correcta de prueba / Correct test submission."""

import torch
from torch import nn


def init_normal(m: nn.Module) -> None:
    """ES: Pesos N(0, 0.01^2), sesgo 0. / EN: Weights N(0, 0.01^2), bias 0."""
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, mean=0.0, std=0.01)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def init_constant(m: nn.Module) -> None:
    """ES: Pesos 1, sesgo 0. / EN: Weights 1, bias 0."""
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 1)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def init_xavier(m: nn.Module) -> None:
    """ES: Pesos Xavier uniforme; sesgo intacto. / EN: Xavier-uniform weights; bias unchanged."""
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)


def init_42(m: nn.Module) -> None:
    """ES: Pesos 42; sesgo sin cambios. / EN: Weights 42; bias unchanged."""
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 42)


def my_init(m: nn.Module) -> None:
    """ES: Mezcla: 0, U(5, 10) o U(-10, -5). / EN: Mixture: 0, U(5, 10) or U(-10, -5)."""
    if isinstance(m, nn.Linear):
        w = m.weight
        with torch.no_grad():
            magnitude = torch.empty_like(w).uniform_(5, 10)
            sign = torch.randint(0, 2, w.shape, device=w.device).to(w.dtype) * 2 - 1
            keep = torch.rand(w.shape, device=w.device) < 0.5
            w.copy_(torch.where(keep, sign * magnitude, torch.zeros_like(w)))
