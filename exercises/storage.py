"""Lectura y escritura de tensores y modelos.

ES: Aquí guardas y cargas tensores y parámetros de modelos con
``torch.save`` y ``torch.load``. Cargar un archivo con ``torch.load`` sin
``weights_only=True`` puede ejecutar código escondido en él: en este archivo
carga siempre con ``weights_only=True``. Rellena cada ``# TODO`` y borra la
línea ``raise NotImplementedError(...)`` que hay debajo. No cambies los
nombres de las funciones.

EN: Reading and writing tensors and models. Here you save and load tensors
and model parameters with ``torch.save`` and ``torch.load``. Loading a file
with ``torch.load`` without ``weights_only=True`` can run code hidden in it:
in this file always load with ``weights_only=True``. Fill in every ``# TODO``
and delete the ``raise NotImplementedError(...)`` line below it. Do not
rename the functions.

Contrato / contract: ``EXERCISES.es.md`` (español), ``EXERCISES.md`` (English),
en la raíz del proyecto / at the root of the project.
"""

import os
from collections.abc import Callable
from typing import Any

import torch  # noqa: F401  (para/for torch.save, torch.load)
from torch import nn
from torch.nn import functional as F  # noqa: F401  (por si lo necesitas / in case you need it)

PathLike = str | os.PathLike[str]


def save_tensors(obj: Any, path: PathLike) -> None:
    """Ejercicio ``tensor_io`` (1/2) / Exercise ``tensor_io`` (1/2).

    ES: Escribe ``obj`` en exactamente la ruta ``path`` (un ``str`` o un
    ``os.PathLike`` como ``pathlib.Path``; no le añadas extensión), en el
    formato de ``torch.save``. ``obj`` es un tensor, una lista de tensores o
    un ``dict`` de ``str`` a tensor.

    Idea practicada: ``torch.save(obj, path)``.

    EN: Write ``obj`` to exactly the path ``path`` (a ``str`` or an
    ``os.PathLike`` such as ``pathlib.Path``; add no extension), in the format
    of ``torch.save``. ``obj`` is a tensor, a list of tensors or a ``dict``
    from ``str`` to tensor.

    Idea practised: ``torch.save(obj, path)``.
    """
    # TODO: torch.save(...)
    raise NotImplementedError("TODO: save_tensors: usa torch.save / use torch.save")


def load_tensors(path: PathLike) -> Any:
    """Ejercicio ``tensor_io`` (2/2) / Exercise ``tensor_io`` (2/2).

    ES: Lee el archivo que escribió ``save_tensors`` y devuelve un objeto
    igual y del mismo tipo: un tensor sigue siendo tensor, una lista sigue
    siendo lista y un ``dict`` sigue siendo ``dict``, con los mismos
    ``dtype`` y valores. No debe ejecutar código escondido en el archivo: un
    archivo con objetos de Python arbitrarios (pickle) debe rechazarse con una
    excepción, como hace ``torch.load(path, weights_only=True)``.

    Idea practicada: ``torch.load`` con ``weights_only=True``.

    EN: Read the file written by ``save_tensors`` and return an equal object
    of the same type: a tensor stays a tensor, a list stays a list and a
    ``dict`` stays a ``dict``, with the same dtypes and values. It must not
    run code hidden in the file: a file holding arbitrary pickled Python
    objects must be refused with an exception, as
    ``torch.load(path, weights_only=True)`` does.

    Idea practised: ``torch.load`` with ``weights_only=True``.
    """
    # TODO: return torch.load(...)
    raise NotImplementedError(
        "TODO: load_tensors: usa torch.load con weights_only=True"
        " / use torch.load with weights_only=True"
    )


def save_params(net: nn.Module, path: PathLike) -> None:
    """Ejercicio ``model_io`` (1/2) / Exercise ``model_io`` (1/2).

    ES: Guarda en ``path`` solo el ``state_dict()`` de ``net`` (parámetros y
    buffers), no el módulo entero. El archivo debe poder leerse con
    ``torch.load(path, weights_only=True)`` y dar un diccionario con las
    mismas claves que ``net.state_dict()`` y tensores como valores.

    Idea practicada: ``net.state_dict()`` y ``torch.save``.

    EN: Save to ``path`` only the ``state_dict()`` of ``net`` (parameters and
    buffers), not the whole pickled module. The file must load with
    ``torch.load(path, weights_only=True)`` as a mapping with the same keys as
    ``net.state_dict()`` and tensors as values.

    Idea practised: ``net.state_dict()`` and ``torch.save``.
    """
    # TODO: torch.save(...)
    raise NotImplementedError("TODO: save_params: guarda net.state_dict() / save net.state_dict()")


def load_params(factory: Callable[[], nn.Module], path: PathLike) -> nn.Module:
    """Ejercicio ``model_io`` (2/2) / Exercise ``model_io`` (2/2).

    ES: Llama a ``factory()`` una sola vez para construir un modelo nuevo
    (por ejemplo ``factory = MLP``), carga en él el ``state_dict`` guardado
    en ``path`` y devuelve ese modelo en modo evaluación (``.eval()``). Un
    archivo guardado desde un modelo en GPU debe poder cargarse en una
    máquina sin GPU: usa ``map_location="cpu"``.

    Ejemplo: ``save_params(net, "mlp.params")`` y luego
    ``clone = load_params(MLP, "mlp.params")``; ``clone(X)`` es igual a
    ``net(X)`` (con ``net`` también en modo eval) y ``clone.training`` es
    ``False``.

    Idea practicada: ``load_state_dict``, ``map_location`` y ``eval()``.

    EN: Call ``factory()`` once to build a fresh model (for example
    ``factory = MLP``), load the ``state_dict`` saved in ``path`` into it and
    return that model in evaluation mode (``.eval()``). A file saved from a
    GPU model must load on a machine without a GPU: use
    ``map_location="cpu"``.

    Example: ``save_params(net, "mlp.params")`` then
    ``clone = load_params(MLP, "mlp.params")``; ``clone(X)`` equals
    ``net(X)`` (with ``net`` in eval mode too) and ``clone.training`` is
    ``False``.

    Idea practised: ``load_state_dict``, ``map_location`` and ``eval()``.
    """
    # TODO: net = factory(); net.load_state_dict(...); ...
    raise NotImplementedError("TODO: load_params: factory(), load_state_dict, eval()")
