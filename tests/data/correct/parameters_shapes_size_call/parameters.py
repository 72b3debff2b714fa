"""Soluciones de referencia: acceso a parámetros, bloques anidados, parámetros atados.

Reference solutions: parameter access, nested blocks, tied parameters.
"""

from torch import nn


def block1() -> nn.Sequential:
    """ES: Bloque 4 -> 8 -> 4 con ReLU. / EN: Block 4 -> 8 -> 4 with ReLU."""
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def block2() -> nn.Sequential:
    """ES: Cuatro block1() distintos, "block 0" ... "block 3".

    EN: Four distinct block1() instances, "block 0" ... "block 3".
    """
    net = nn.Sequential()
    for i in range(4):
        net.add_module(f"block {i}", block1())
    return net


def rgnet() -> nn.Sequential:
    """ES: block2() seguido de nn.Linear(4, 1). / EN: block2() followed by nn.Linear(4, 1)."""
    return nn.Sequential(block2(), nn.Linear(4, 1))


def count_parameters(net: nn.Module) -> int:
    """ES: Número de escalares en los parámetros distintos.

    EN: Number of scalars in the distinct parameters.
    """
    return sum(p.numel() for p in net.parameters())


def param_shapes(net: nn.Module) -> dict[str, tuple[int, ...]]:
    """ES: Nombre cualificado -> forma. / EN: Qualified name -> shape."""
    return dict((name, p.size()) for name, p in net.named_parameters(recurse=True))


def tied_net() -> nn.Sequential:
    """ES: Red con una capa compartida en las posiciones 2 y 4.

    EN: Network with one layer shared at positions 2 and 4.
    """
    shared = nn.Linear(8, 8)
    return nn.Sequential(
        nn.Linear(4, 8),
        nn.ReLU(),
        shared,
        nn.ReLU(),
        shared,
        nn.ReLU(),
        nn.Linear(8, 1),
    )
