import torch


def relu(x):
    return torch.clamp(x, min=0)
