"""Which pixels of a 28x28 input drove the model's answer: Integrated Gradients from Captum."""

from __future__ import annotations

import numpy as np
import torch

from .predict import model_input

STEPS = 32


def saliency(model: torch.nn.Module, mnist_input: np.ndarray, target: int, steps: int = STEPS) -> np.ndarray:
    """(28, 28) attribution of `target`'s logit to each pixel, against a blank (black) input.

    Positive values pushed the model towards `target`, negative ones away from it."""
    # Imported here: Captum brings matplotlib, half a second that every process reaching the admin
    # paid at start-up, for a picture only a reviewer opening one drawing asks for.
    from captum.attr import IntegratedGradients

    model.eval()
    inputs = model_input(np.array(mnist_input[np.newaxis])).requires_grad_()
    attribution = IntegratedGradients(model).attribute(inputs, baselines=torch.zeros_like(inputs),
                                                       target=target, n_steps=steps)
    return attribution.detach()[0, 0].numpy().astype(np.float64)
