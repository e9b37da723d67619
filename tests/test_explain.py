"""Saliency with Captum's Integrated Gradients on the shipped model."""

import numpy as np

from mlcore import checkpoint
from mlcore.explain import saliency


def test_attribution_has_the_input_shape_and_marks_the_ink(mnist_test, shipped_model_path):
    model, _ = checkpoint.load(shipped_model_path)
    digit = mnist_test.images[0]
    attribution = saliency(model, digit, int(mnist_test.labels[0]))
    assert attribution.shape == digit.shape
    assert np.abs(attribution).sum() > 0
    # Against a black baseline, only pixels with ink can carry attribution.
    assert np.all(attribution[digit == 0] == 0)
    assert attribution[digit > 0].sum() > 0
