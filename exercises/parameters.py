"""Acceso a parámetros, bloques anidados y parámetros atados.

ES: Aquí construyes redes con ``nn.Sequential`` anidados, cuentas y describes
sus parámetros, y compartes una capa entre dos posiciones de una red. Rellena
cada ``# TODO`` y borra la línea ``raise NotImplementedError(...)`` que hay
debajo. No cambies los nombres de las funciones: el corrector los usa.

EN: Parameter access, nested blocks and tied parameters. Here you build
networks out of nested ``nn.Sequential`` containers, count and describe their
parameters, and share one layer between two positions of a network. Fill in
every ``# TODO`` and delete the ``raise NotImplementedError(...)`` line below
it. Do not rename the functions: the grader uses them.

Contrato / contract: ``EXERCISES.es.md`` (español), ``EXERCISES.md`` (English),
en la raíz del proyecto / at the root of the project.
"""

import torch  # noqa: F401  (por si lo necesitas / in case you need it)
from torch import nn
from torch.nn import functional as F  # noqa: F401  (por si lo necesitas / in case you need it)


def block1() -> nn.Sequential:
    """Ejercicio ``nested_blocks`` (1/3) / Exercise ``nested_blocks`` (1/3).

    ES: Devuelve un bloque nuevo
    ``nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())``:
    entrada ``(n, 4)``, salida ``(n, 4)``. Cada llamada crea capas nuevas.

    EN: Return a new block
    ``nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())``:
    input ``(n, 4)``, output ``(n, 4)``. Every call creates new layers.
    """
    # TODO: return nn.Sequential(...)
    raise NotImplementedError("TODO: block1: devuelve el nn.Sequential / return the nn.Sequential")


def block2() -> nn.Sequential:
    """Ejercicio ``nested_blocks`` (2/3) / Exercise ``nested_blocks`` (2/3).

    ES: Devuelve un ``nn.Sequential`` con cuatro bloques ``block1()``
    *distintos* (llama a ``block1()`` cuatro veces, no reutilices el mismo
    objeto), añadidos con ``add_module`` bajo los nombres ``"block 0"``,
    ``"block 1"``, ``"block 2"`` y ``"block 3"`` (con un espacio, en ese
    orden). Empieza con ``net = nn.Sequential()`` vacío y añade los bloques
    con ``net.add_module(nombre, bloque)``. Entrada ``(n, 4)``, salida
    ``(n, 4)``.

    Idea practicada: ``add_module`` da nombres propios a los hijos; luego se
    accede a ellos con ``net.get_submodule("block 1")``.

    EN: Return an ``nn.Sequential`` holding four *distinct* ``block1()``
    blocks (call ``block1()`` four times, do not reuse one object), added with
    ``add_module`` under the names ``"block 0"``, ``"block 1"``, ``"block 2"``
    and ``"block 3"`` (with a space, in that order). Start from an empty
    ``net = nn.Sequential()`` and add the blocks with
    ``net.add_module(name, block)``. Input ``(n, 4)``, output ``(n, 4)``.

    Idea practised: ``add_module`` gives children names of your choice; you
    then reach them with ``net.get_submodule("block 1")``.
    """
    # TODO: net = nn.Sequential(); for i in range(4): net.add_module(...)
    raise NotImplementedError(
        "TODO: block2: añade cuatro block1() con add_module / add four block1() with add_module"
    )


def rgnet() -> nn.Sequential:
    """Ejercicio ``nested_blocks`` (3/3) / Exercise ``nested_blocks`` (3/3).

    ES: Devuelve ``nn.Sequential(block2(), nn.Linear(4, 1))``. Tiene 309
    parámetros escalares en total; entrada ``(n, 4)``, salida ``(n, 1)``.
    Acceso anidado de ejemplo: ``rgnet()[0].get_submodule("block 1")[0].bias``
    es el sesgo de la primera ``nn.Linear`` del segundo bloque.

    EN: Return ``nn.Sequential(block2(), nn.Linear(4, 1))``. It has 309 scalar
    parameters in all; input ``(n, 4)``, output ``(n, 1)``. Example of nested
    access: ``rgnet()[0].get_submodule("block 1")[0].bias`` is the bias of the
    first ``nn.Linear`` of the second block.
    """
    # TODO: return nn.Sequential(...)
    raise NotImplementedError(
        "TODO: rgnet: devuelve nn.Sequential(block2(), nn.Linear(4, 1))"
        " / return nn.Sequential(block2(), nn.Linear(4, 1))"
    )


def count_parameters(net: nn.Module) -> int:
    """Ejercicio ``parameter_access`` (1/2) / Exercise ``parameter_access`` (1/2).

    ES: Devuelve (como ``int``) el número total de valores escalares de los
    parámetros de ``net``:

    - cada parámetro distinto cuenta una sola vez, aunque esté atado
      (compartido) en varias posiciones;
    - cuentan también los congelados (``requires_grad=False``);
    - los buffers (``register_buffer``) no cuentan.

    Ejemplos: ``count_parameters(nn.Linear(4, 8)) == 40``;
    ``count_parameters(rgnet()) == 309``;
    ``count_parameters(tied_net()) == 121``.

    Idea practicada: ``net.parameters()`` (ya devuelve cada parámetro una sola
    vez) y ``Tensor.numel()``.

    EN: Return (as an ``int``) the total number of scalar values in the
    parameters of ``net``:

    - each distinct parameter counts once, even when it is tied (shared) in
      several places;
    - frozen ones (``requires_grad=False``) count too;
    - buffers (``register_buffer``) do not count.

    Examples: ``count_parameters(nn.Linear(4, 8)) == 40``;
    ``count_parameters(rgnet()) == 309``;
    ``count_parameters(tied_net()) == 121``.

    Idea practised: ``net.parameters()`` (it already yields each parameter
    once) and ``Tensor.numel()``.
    """
    # TODO: return ...
    raise NotImplementedError(
        "TODO: count_parameters: suma numel() de los parámetros / sum numel() over the parameters"
    )


def param_shapes(net: nn.Module) -> dict[str, tuple[int, ...]]:
    """Ejercicio ``parameter_access`` (2/2) / Exercise ``parameter_access`` (2/2).

    ES: Devuelve un ``dict`` que asocia el nombre cualificado de cada
    parámetro con su forma como tupla de enteros, con los mismos nombres y en
    el mismo orden que da ``net.named_parameters()``: un parámetro atado
    aparece una sola vez, con su primer nombre; los buffers no aparecen.

    Ejemplo: para ``nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))``
    el resultado es ``{"0.weight": (8, 4), "0.bias": (8,), "2.weight": (1, 8),
    "2.bias": (1,)}``.

    Idea practicada: ``named_parameters()`` y ``tuple(p.shape)``.

    EN: Return a ``dict`` mapping the qualified name of every parameter to its
    shape as a tuple of ints, with the names and in the order that
    ``net.named_parameters()`` gives: a tied parameter appears once, under its
    first name; buffers do not appear.

    Example: for ``nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))``
    the result is ``{"0.weight": (8, 4), "0.bias": (8,), "2.weight": (1, 8),
    "2.bias": (1,)}``.

    Idea practised: ``named_parameters()`` and ``tuple(p.shape)``.
    """
    # TODO: return {...}
    raise NotImplementedError(
        "TODO: param_shapes: recorre named_parameters() / loop over named_parameters()"
    )


def tied_net() -> nn.Sequential:
    """Ejercicio ``tied_parameters`` / Exercise ``tied_parameters``.

    ES: Crea una sola capa ``shared = nn.Linear(8, 8)`` y devuelve
    ``nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared,
    nn.ReLU(), nn.Linear(8, 1))``, donde las posiciones 2 y 4 son *el mismo*
    objeto ``shared``: ``net[2].weight is net[4].weight``. Un cambio en uno se
    ve en el otro, ``net.parameters()`` da 6 tensores, y el gradiente del
    peso compartido es la suma de los gradientes de sus dos usos. Entrada
    ``(n, 4)``, salida ``(n, 1)``.

    Idea practicada: parámetros atados (compartidos) reutilizando un módulo.

    EN: Create a single layer ``shared = nn.Linear(8, 8)`` and return
    ``nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared,
    nn.ReLU(), nn.Linear(8, 1))``, where positions 2 and 4 are *the same*
    ``shared`` object: ``net[2].weight is net[4].weight``. A change to one is
    seen in the other, ``net.parameters()`` yields 6 tensors, and the gradient
    of the shared weight is the sum of the gradients of its two uses. Input
    ``(n, 4)``, output ``(n, 1)``.

    Idea practised: tied (shared) parameters by reusing one module.
    """
    # TODO: shared = nn.Linear(8, 8); return nn.Sequential(...)
    raise NotImplementedError(
        "TODO: tied_net: usa la misma capa shared dos veces / use the same shared layer twice"
    )
