"""activations.py: relu."""
