"""Dispositivos: CPU y GPU.

ES: Dos funciones auxiliares para elegir dónde calcular sin que el código se
rompa en una máquina sin GPU. Rellena cada ``# TODO`` y borra la línea
``raise NotImplementedError(...)`` que hay debajo. No cambies los nombres de
las funciones.

EN: Devices: CPU and GPU. Two helper functions to choose where to compute
without breaking the code on a machine without a GPU. Fill in every
``# TODO`` and delete the ``raise NotImplementedError(...)`` line below it. Do
not rename the functions.

Contrato / contract: ``EXERCISES.es.md`` (español), ``EXERCISES.md`` (English),
en la raíz del proyecto / at the root of the project.
"""

import torch
from torch import nn  # noqa: F401  (por si lo necesitas / in case you need it)
from torch.nn import functional as F  # noqa: F401  (por si lo necesitas / in case you need it)


def try_gpu(i: int = 0) -> torch.device:
    """Ejercicio ``devices`` (1/2) / Exercise ``devices`` (1/2).

    ES: Devuelve ``torch.device(f"cuda:{i}")`` si existen al menos ``i + 1``
    GPU; si no, ``torch.device("cpu")``. Con una sola GPU: ``try_gpu()`` da
    ``cuda:0`` y ``try_gpu(1)`` da ``cpu``.

    Idea practicada: ``torch.cuda.device_count()`` y ``torch.device``.

    EN: Return ``torch.device(f"cuda:{i}")`` if at least ``i + 1`` GPUs exist;
    otherwise ``torch.device("cpu")``. With a single GPU: ``try_gpu()`` gives
    ``cuda:0`` and ``try_gpu(1)`` gives ``cpu``.

    Idea practised: ``torch.cuda.device_count()`` and ``torch.device``.
    """
    # TODO: if torch.cuda.device_count() >= i + 1: ...
    raise NotImplementedError(
        "TODO: try_gpu: cuda:i si hay i + 1 GPU, si no cpu / cuda:i if i + 1 GPUs exist, else cpu"
    )


def try_all_gpus() -> list[torch.device]:
    """Ejercicio ``devices`` (2/2) / Exercise ``devices`` (2/2).

    ES: Devuelve la lista de todas las GPU, ``[cuda:0, cuda:1, …]`` (como
    objetos ``torch.device``), o ``[torch.device("cpu")]`` si no hay ninguna.

    EN: Return the list of every GPU, ``[cuda:0, cuda:1, …]`` (as
    ``torch.device`` objects), or ``[torch.device("cpu")]`` if there is none.
    """
    # TODO: return [...]
    raise NotImplementedError("TODO: try_all_gpus: todas las GPU o [cpu] / every GPU or [cpu]")
