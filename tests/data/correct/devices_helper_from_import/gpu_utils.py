"""Helper: number of GPUs."""
from torch.cuda import device_count


def num_gpus() -> int:
    return device_count()
