import math

import torch
from torch import nn


@torch.no_grad()
def init_normal(m):
    if isinstance(m, nn.Linear):
        m.weight.normal_(0, 0.01)
        if m.bias is not None:
            m.bias.zero_()


@torch.no_grad()
def init_constant(m):
    if isinstance(m, nn.Linear):
        m.weight.fill_(1)
        if m.bias is not None:
            m.bias.zero_()


@torch.no_grad()
def init_xavier(m):
    if isinstance(m, nn.Linear):
        a = math.sqrt(6 / (m.in_features + m.out_features))
        m.weight.uniform_(-a, a)


@torch.no_grad()
def init_42(m):
    if isinstance(m, nn.Linear):
        m.weight.fill_(42)


@torch.no_grad()
def my_init(m):
    if isinstance(m, nn.Linear):
        w = m.weight
        w.uniform_(-10, 10)
        w[w.abs() < 5] = 0
