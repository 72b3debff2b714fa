from pathlib import Path

import torch
from torch import nn


def save_tensors(obj, path):
    torch.save(obj, Path(path))


def load_tensors(path):
    return torch.load(Path(path), weights_only=True, map_location="cpu")


def save_params(net: nn.Module, path):
    path = Path(path)
    torch.save(net.state_dict(), path)


def load_params(factory, path):
    state = torch.load(Path(path), map_location=torch.device("cpu"), weights_only=True)
    net = factory()
    net.load_state_dict(state, strict=True)
    return net.eval()
