import torch


def try_gpu(i=0):
    if torch.cuda.is_available() and i < torch.cuda.device_count():
        return torch.device("cuda", i)
    return torch.device("cpu")


def try_all_gpus():
    if not torch.cuda.is_available():
        return [torch.device("cpu")]
    n = torch.cuda.device_count()
    return [try_gpu(i) for i in range(n)] or [torch.device("cpu")]
