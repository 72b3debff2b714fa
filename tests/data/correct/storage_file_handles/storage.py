import torch


def save_tensors(obj, path):
    with open(path, "wb") as f:
        torch.save(obj, f)


def load_tensors(path):
    with open(path, "rb") as f:
        return torch.load(f, weights_only=True)


def save_params(net, path):
    with open(path, "wb") as f:
        torch.save(net.state_dict(), f)


def load_params(factory, path):
    net = factory()
    with open(path, "rb") as f:
        state = torch.load(f, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    net.train(False)
    return net
