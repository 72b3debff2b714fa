def relu(x):
    """max(x, 0), elementwise."""
    raise NotImplementedError
