"""losses.py: mse."""
