def mse(pred, target):
    return ((pred - target) ** 2).sum()  # a sum, not a mean
