"""Plain-Python core of the digit recogniser: data, model, preprocessing, training, evaluation.

Nothing here imports Django; every path and option comes in as an argument, so the site,
the management commands and the tests share the same functions. Importing the package is cheap;
its submodules import torch (and some SciPy or scikit-image) as they are imported.
"""
