"""What the probe and the checks of layers.py share."""

# inputs the layer is run on (spec.py builds them); X3d is 3-D: the
# mean is still over all elements
CENTER_INPUTS = ("X", "Xbig", "X64", "X3d")
