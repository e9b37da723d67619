"""A Predictor holds one loaded model and turns 28x28 inputs into probabilities."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch.fx.experimental.optimization import fuse

from . import checkpoint
from .model import model_input


@dataclass(frozen=True)
class Prediction:
    digit: int
    confidence: float
    probabilities: list[float]


def top3(probabilities: list[float]) -> list[dict]:
    """The three likeliest digits with their probabilities, best first."""
    order = sorted(range(len(probabilities)), key=probabilities.__getitem__, reverse=True)[:3]
    return [{"digit": digit, "probability": probabilities[digit]} for digit in order]


def margin(probabilities: list[float]) -> float:
    """How far the likeliest digit leads the second: near 0 when the model hesitates between two."""
    first, second = sorted(probabilities, reverse=True)[:2]
    return first - second


class Predictor:
    def __init__(self, model: torch.nn.Module, metadata: dict):
        self.model = model.eval()
        self.metadata = metadata
        # Inference never updates batch-norm statistics, so fold them into the convolutions
        # once: a traced copy with fewer layers, a third faster for one image at a time.
        self._inference_model = fuse(self.model)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike) -> "Predictor":
        return cls(*checkpoint.load(path))

    @torch.inference_mode()
    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 28, 28) inputs in [0, 1] (or uint8) to (N, 10) probabilities."""
        return torch.softmax(self._inference_model(model_input(inputs)), dim=1).numpy()

    def predict(self, mnist_input: np.ndarray) -> Prediction:
        probabilities = self.probabilities(mnist_input[np.newaxis])[0].astype(np.float64)
        probabilities /= probabilities.sum()
        digit = int(probabilities.argmax())
        return Prediction(digit, float(probabilities[digit]), [float(p) for p in probabilities])
