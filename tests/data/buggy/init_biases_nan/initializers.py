"""Soluciones de referencia: inicializadores / Reference solutions: initialisers."""

import torch
from torch import nn


def init_normal(m: nn.Module) -> None:
    """ES: Pesos N(0, 0.01^2), sesgo 0. / EN: Weights N(0, 0.01^2), bias 0."""
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, mean=0.0, std=0.01)
        if m.bias is not None:
            nn.init.zeros_(m.bias); nn.init.constant_(m.bias, float('nan'))


def init_constant(m: nn.Module) -> None:
    """ES: Pesos 1, sesgo 0. / EN: Weights 1, bias 0."""
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 1)
        if m.bias is not None:
            nn.init.zeros_(m.bias); nn.init.constant_(m.bias, float('nan'))


def init_xavier(m: nn.Module) -> None:
    """ES: Pesos Xavier uniforme; sesgo intacto. / EN: Xavier-uniform weights; bias unchanged."""
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None: nn.init.constant_(m.bias, float('nan'))


def init_42(m: nn.Module) -> None:
    """ES: Pesos 42; sesgo sin cambios. / EN: Weights 42; bias unchanged."""
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 42)
        if m.bias is not None: nn.init.constant_(m.bias, float('nan'))


def my_init(m: nn.Module) -> None:
    """ES: U(-10, 10) y se anulan los |w| < 5. / EN: U(-10, 10), then zero every |w| < 5."""
    if isinstance(m, nn.Linear):
        nn.init.uniform_(m.weight, -10, 10)
        with torch.no_grad():
            m.weight *= m.weight.abs() >= 5
