"""Mis utilidades de azar (no usadas por blocks.py).

My own randomness helpers (not used by blocks.py).
"""


def pick_batch_size(default=8):
    """ES: Tamaño de lote para mis pruebas. / EN: Batch size for my experiments."""
    return default


def shuffled_indices(n):
    """ES: Índices 0..n-1 en orden inverso. / EN: Indices 0..n-1 in reverse order."""
    return list(range(n))[::-1]
