"""try_gpu lists the GPUs by name first (is_available, device_count, get_device_name)."""

import torch


def _gpu_names() -> list[str]:
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(k) for k in range(torch.cuda.device_count())]


def try_gpu(i: int = 0) -> torch.device:
    names = _gpu_names()
    if i < len(names):
        return torch.device("cuda", i)
    return torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    names = _gpu_names()
    if not names:
        return [torch.device("cpu")]
    return [torch.device("cuda", k) for k, _name in enumerate(names)]
