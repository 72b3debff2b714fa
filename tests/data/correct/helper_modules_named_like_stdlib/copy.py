"""Mis utilidades para copiar listas (no usadas por blocks.py).

My own list-copying helpers (not used by blocks.py).
"""


def copy_list(xs):
    """ES: Copia superficial de una lista. / EN: Shallow copy of a list."""
    return list(xs)


def copy_shapes(shapes):
    """ES: Copia un dict de formas. / EN: Copies a dict of shapes."""
    return {name: tuple(shape) for name, shape in shapes.items()}
