import torch
from torch import nn


def block1():
    return nn.Sequential(
        nn.Linear(4, 8),
        nn.ReLU(),
        nn.Linear(8, 4),
        nn.ReLU(),
    )


def block2():
    net = nn.Sequential()
    for name in ["block 0", "block 1", "block 2", "block 3"]:
        net.add_module(name, block1())
    return net


def rgnet():
    return nn.Sequential(block2(), nn.Linear(4, 1))


def count_parameters(net):
    return int(sum(map(torch.numel, net.parameters())))


def param_shapes(net):
    return dict((name, tuple(p.shape)) for name, p in net.named_parameters())


def tied_net():
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(),
                         nn.Linear(8, 1))
