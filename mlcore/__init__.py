"""Plain-Python core of the digit recogniser: data, model, preprocessing, training, evaluation.

Nothing here imports Django; every path and option comes in as an argument, so the site,
the management commands and the tests share the same functions. Submodules import torch
lazily from the caller's point of view: importing this package is cheap.
"""
