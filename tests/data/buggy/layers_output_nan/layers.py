import torch
from torch import nn
NAN = float('nan')
class CenteredLayer(nn.Module):
    def forward(self, X):
        return X * NAN
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.full((in_units, units), NAN))
        self.bias = nn.Parameter(torch.full((units,), NAN))
    def forward(self, X):
        return X @ self.weight
