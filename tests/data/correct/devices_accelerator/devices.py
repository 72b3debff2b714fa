import torch


def try_gpu(i=0):
    if torch.cuda.is_available() and torch.accelerator.device_count() > i:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus():
    if not torch.cuda.is_available():
        return [torch.device("cpu")]
    return [torch.device(f"cuda:{i}") for i in range(torch.accelerator.device_count())]
