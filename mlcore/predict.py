"""A Predictor holds one loaded model and turns 28x28 inputs into answers: a digit, or "not a digit";
`logits_of` reads any model's logits for a batch of inputs (evaluation and training measure with it).

The checkpoint's metadata carries its calibration: the temperature that divides the logits
before the softmax, and the probability of the "not a digit" output above which the answer is
no digit. A checkpoint without them (the ten-output `mnist-cnn-v1`) is read at temperature 1
and always answers a digit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from . import checkpoint
from .calibrate import digit_log_probabilities, not_a_digit_probability
from .fold import folded
from .labels import NOT_A_DIGIT


def model_input(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28) or float [0, 1] arrays as the model's (N, 1, 28, 28) float input."""
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    if tensor.dtype == torch.uint8:
        return tensor.float().div_(255).unsqueeze(1)
    return tensor.float().unsqueeze(1)


# Small batches stay in the CPU's caches: 10,000 images in batches of 256 take a third less time than in
# one, and a fraction of the memory.
BATCH_SIZE = 256


@torch.inference_mode()
def logits_of(model: torch.nn.Module, images: np.ndarray, batch_size: int = BATCH_SIZE) -> torch.Tensor:
    """The model's logits for (N, 28, 28) images, in evaluation mode, batch by batch, on the CPU whichever
    device the model is on."""
    if model.training:
        # Only then: eval() walks every submodule, a tenth of one drawing's forward pass.
        model.eval()
    device = next(model.parameters()).device
    batches = [images[i:i + batch_size] for i in range(0, len(images), batch_size)] or [images]
    return torch.cat([model(model_input(batch).to(device)) for batch in batches]).cpu()


# The most probability of "not a digit" at which a screenshot's reading is still taken for its digit
# where another of its readings is plainly none (`Predictor.likeliest_digit`).
SCREENSHOT_DIGIT = 0.5
# A photo's reading is answered "not a digit" from this probability of it, where the checkpoint's own threshold
# is higher: that one is calibrated on drawings, and photos of no digit (a pen, an envelope's edge, a receipt's
# print) were answered digits at 0.5 to 0.9 of it. Chosen on photos apart from those the README measures, as
# the lowest that answers under 0.5 % of photos of digits "not a digit": 800 synthetic photos of training
# digits lost 11, 5, 4, 3 and 0 at 0.3, 0.5, 0.6, 0.7 and 0.9, and 320 photographed non-digits gained 18, 14,
# 13, 11 and 2 more "not a digit".
PHOTO_NOT_A_DIGIT = 0.7


@dataclass(frozen=True)
class Answer:
    digit: int | None              # None: the drawing is not one digit
    confidence: float              # probability of the answer: of the digit, or of "not a digit"
    probabilities: list[float]     # the ten digits', renormalised over the digits alone
    not_a_digit: float             # probability that the drawing is not one digit


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
        calibration = metadata.get("calibration", {})
        self.temperature = float(calibration.get("temperature", 1.0))
        self.threshold = float(calibration.get("not_a_digit_threshold", 1.0))
        # Inference never updates batch-norm statistics.
        self._inference_model = folded(self.model)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike) -> "Predictor":
        return cls(*checkpoint.load(path))

    @torch.inference_mode()
    def scores(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 28, 28) inputs in [0, 1] (or uint8) to calibrated (N, 10) digit probabilities and (N,)
        probabilities of "not a digit"."""
        logits = logits_of(self._inference_model, inputs)
        return (digit_log_probabilities(logits, self.temperature).exp().numpy(),
                not_a_digit_probability(logits, self.temperature).numpy())

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 28, 28) inputs to calibrated (N, 10) probabilities over the digits."""
        return self.scores(inputs)[0]

    def is_not_a_digit(self, not_a_digit: np.ndarray, photo: bool = False) -> np.ndarray:
        return np.asarray(not_a_digit) >= (min(self.threshold, PHOTO_NOT_A_DIGIT) if photo else self.threshold)

    def decide(self, digits: np.ndarray, not_a_digit: np.ndarray,
               photo: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """From `scores`: the digit probabilities renormalised over the digits alone, the (N,) labels
        answered (`NOT_A_DIGIT` where the drawing, or the `photo`'s reading, is not one digit) and the (N,)
        confidences in them."""
        digits = digits.astype(np.float64)
        digits /= digits.sum(axis=1, keepdims=True)
        null = self.is_not_a_digit(not_a_digit, photo)
        return (digits, np.where(null, NOT_A_DIGIT, digits.argmax(axis=1)).astype(np.int64),
                np.where(null, not_a_digit, digits.max(axis=1)).astype(np.float64))

    def answers(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What `predict` answers, for (N, 28, 28) inputs at once: labels and confidences."""
        _, labels, confidences = self.decide(*self.scores(inputs))
        return labels, confidences

    def likeliest_digit(self, readings: np.ndarray, first: int | None = None, screenshot: bool = False) -> int:
        """Which of (N, 28, 28) readings of one image is likeliest one digit: of the `first` (all by
        default), the one least likely "not a digit"; where even that one is answered "not a digit",
        the least likely of all.

        A `screenshot` is read from each photo it shows and whole, and of so many readings of a gallery
        of scenery or a chat's text, one often looks like a digit by chance. So where one of its readings is
        plainly no digit, the one chosen must be likelier a digit than not (SCREENSHOT_DIGIT), or that
        plain one is the reading: of two audits' 180 screenshots and uploads of no digit, 105 were answered
        "not a digit" before, 138 so, and their 1,040 of a digit were read as before."""
        not_a_digit = self.scores(readings)[1]
        best = int(np.argmin(not_a_digit[:first]))
        if self.is_not_a_digit(not_a_digit[best]):
            best = int(np.argmin(not_a_digit))
        if screenshot and not_a_digit[best] >= SCREENSHOT_DIGIT and self.is_not_a_digit(not_a_digit.max()):
            return int(np.argmax(not_a_digit))
        return best

    def predict(self, mnist_input: np.ndarray, photo: bool = False) -> Answer:
        """The answer for one (28, 28) input: a drawing's, or with `photo` a photo's reading (PHOTO_NOT_A_DIGIT)."""
        digits, not_a_digit = self.scores(mnist_input[np.newaxis])
        probabilities, labels, confidences = self.decide(digits, not_a_digit, photo)
        label = int(labels[0])
        return Answer(None if label == NOT_A_DIGIT else label, float(confidences[0]),
                      [float(p) for p in probabilities[0]], float(not_a_digit[0]))
