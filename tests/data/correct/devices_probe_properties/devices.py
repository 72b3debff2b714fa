"""try_gpu probes each GPU with torch.cuda.get_device_properties in try/except."""

import torch


def _exists(i: int) -> bool:
    try:
        torch.cuda.get_device_properties(i)
    except Exception:  # no such GPU (or no CUDA at all)
        return False
    return True


def try_gpu(i: int = 0) -> torch.device:
    return torch.device(f"cuda:{i}") if _exists(i) else torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    devices = []
    while _exists(len(devices)):
        devices.append(torch.device(f"cuda:{len(devices)}"))
    return devices or [torch.device("cpu")]
