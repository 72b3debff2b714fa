import torch
import hw


def try_gpu(i=0):
    return torch.device(f"cuda:{i}") if hw.NUM_GPUS >= i + 1 else torch.device("cpu")


def try_all_gpus():
    return [torch.device(f"cuda:{i}") for i in range(hw.NUM_GPUS)] or [torch.device("cpu")]
