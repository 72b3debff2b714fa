import torch
from torch import nn


def init_normal(m):
    if type(m) == nn.Linear:  # noqa: E721  (d2l style)
        nn.init.normal_(m.weight, mean=0, std=0.01)
        if m.bias is not None:
            nn.init.constant_(m.bias, 0.0)


def init_constant(m):
    if type(m) == nn.Linear:  # noqa: E721
        nn.init.ones_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def init_xavier(m):
    if type(m) == nn.Linear:  # noqa: E721
        nn.init.xavier_uniform_(m.weight, gain=1.0)


def init_42(m):
    if type(m) == nn.Linear:  # noqa: E721
        nn.init.constant_(m.weight, val=42)


def my_init(m):
    if type(m) == nn.Linear:  # noqa: E721
        w = m.weight
        u = torch.empty_like(w).uniform_(-10, 10)
        with torch.no_grad():
            w.copy_(torch.where(u.abs() >= 5, u, torch.zeros_like(u)))
