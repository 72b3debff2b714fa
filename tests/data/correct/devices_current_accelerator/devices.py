"""try_gpu asks torch.accelerator which accelerator there is, then counts."""

import torch


def _cuda_count() -> int:
    acc = torch.accelerator.current_accelerator()
    if acc is None or acc.type != "cuda":
        return 0
    return torch.accelerator.device_count()


def try_gpu(i: int = 0) -> torch.device:
    return torch.device(f"cuda:{i}") if i < _cuda_count() else torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    return [torch.device(f"cuda:{k}") for k in range(_cuda_count())] or [torch.device("cpu")]
