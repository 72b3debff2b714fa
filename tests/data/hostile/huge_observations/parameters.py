"""Hostile (an honest learner can get close): param_shapes returns a dict
whose one key is 60,000 characters long.  The observations stay under the
grader's caps, and the checks that quote the key must quote a bounded part
of it: results.json and the report stay small."""

from torch import nn


def block1() -> nn.Sequential:
    """ES: Bloque 4 -> 8 -> 4 con ReLU. / EN: Block 4 -> 8 -> 4 with ReLU."""
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def block2() -> nn.Sequential:
    """ES: Cuatro block1() distintos. / EN: Four distinct block1() instances."""
    net = nn.Sequential()
    for i in range(4):
        net.add_module(f"block {i}", block1())
    return net


def rgnet() -> nn.Sequential:
    """ES: block2() seguido de nn.Linear(4, 1). / EN: block2() followed by nn.Linear(4, 1)."""
    return nn.Sequential(block2(), nn.Linear(4, 1))


def count_parameters(net: nn.Module) -> int:
    """ES: Número de escalares. / EN: Number of scalars."""
    return sum(p.numel() for p in net.parameters())


def param_shapes(net: nn.Module) -> dict[str, tuple[int, ...]]:
    """ES: Nombre cualificado -> forma. / EN: Qualified name -> shape."""
    return {"p" * 60_000: (1,)}


def tied_net() -> nn.Sequential:
    """ES: Red con una capa compartida. / EN: Network with one shared layer."""
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(),
                         nn.Linear(8, 1))
