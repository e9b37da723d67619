"""Making a model: the training loop and its augmentations, the served recipe with its calibration, ensembles,
and the studies that chose the recipe."""
