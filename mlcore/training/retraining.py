"""Retraining on reviewed drawings: mix them into MNIST with their own weight, hold some out (a stable
hold-out the release gate measures on too), train, and measure before and after.

The `train --with-reviewed` command parses options and prints; this module does the work and
returns what happened, so tests and other callers use it directly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..evaluate import answered_accuracy
from ..labels import NOT_A_DIGIT
from ..mnist import Split
from .growing import with_outputs_of
from ..predict import Predictor
from .recipe import Extras, split_off, train_with_extras
from .train import TrainConfig, TrainResult

# The share of reviewed drawings kept out of retraining, to measure on (retraining and the release gate).
HOLDOUT_FRACTION = 0.2
# How much one reviewed drawing counts against one MNIST image: a reviewed drawing is what people
# send, and they are few beside MNIST's 55,000.
REVIEWED_WEIGHT = 5.0


def holdout_mask(images: np.ndarray, fraction: float) -> np.ndarray:
    """Which images to hold out, decided by a hash of each image's pixels.

    A drawing stays on the same side however many others are added later, and identical
    drawings always land together, so none is trained on and tested on at once.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"the hold-out fraction must be in [0, 1), not {fraction}")
    positions = np.array([int.from_bytes(hashlib.sha256(image.tobytes()).digest()[:8], "big") / 2**64
                          for image in images], dtype=np.float64)
    return positions < fraction


def split_holdout(split: Split, fraction: float) -> tuple[Split, Split]:
    """(drawings to train on, held-out drawings to measure on)."""
    held_out = holdout_mask(split.images, fraction)
    return (Split(split.images[~held_out], split.labels[~held_out]),
            Split(split.images[held_out], split.labels[held_out]))


# Fine-tuning starts from a trained model: a short run at a gentle peak rate adapts it without undoing it.
FINE_TUNE_EPOCHS = 2
FINE_TUNE_LR = 0.02


@dataclass
class Retraining:
    result: TrainResult
    summary: dict           # also stored in the checkpoint's metadata as "reviewed_training"

    @property
    def reviewed_accuracy(self) -> float | None:
        return self.summary["after"]["reviewed_accuracy"]


def not_digit_count(split: Split) -> int:
    return int((split.labels == NOT_A_DIGIT).sum())


def retrain(config: TrainConfig, train_split: Split, test_split: Split, reviewed: Split, *,
            base_name: str, base: Predictor, extras: Extras = Extras(), reviewed_weight: float = REVIEWED_WEIGHT,
            holdout_fraction: float = HOLDOUT_FRACTION, fine_tune: bool = True, calibration_drawings: int | None = None,
            progress: bool = False, log=print) -> Retraining:
    """Train on MNIST (config.train_limit of it, less the calibration slice), the extras any training takes and
    the reviewed drawings not held out, then calibrate on the MNIST slice and drawings made from it
    (`recipe.train_with_extras`). `base` is the active model, which a fine-tuning starts from and the summary
    compares with; without the extras it was trained with, it forgets what they taught (the "not a digit" of
    generated non-digits first).

    Confirmed non-digits (label 10) are negatives for the "not a digit" output; fine-tuning a
    ten-output model gives it that output. Raises ValueError for bad fractions or weights.
    """
    if not len(reviewed.labels):
        raise ValueError("there are no reviewed drawings to train on; set true labels in the admin first")
    fit, held_out = split_holdout(reviewed, holdout_fraction)
    if not len(fit.labels):
        # The hold-out is chosen by each picture's content: one drawing, or copies of one, may all fall in it.
        raise ValueError(f"all {len(held_out.labels):,} reviewed drawings fell in the held-out share "
                         f"({holdout_fraction:.0%}), which measures the model and is never trained on; "
                         "review more drawings, or lower --holdout-fraction")
    mnist_images = len(split_off(train_split)[0].head(config.train_limit).labels)
    summary = {
        "base_version": base_name,
        "fine_tuned": fine_tune,
        "mnist_train_images": mnist_images,
        "reviewed_train_images": len(fit.labels),
        "reviewed_held_out_images": len(held_out.labels),
        "reviewed_weight": reviewed_weight,
        "holdout_fraction": holdout_fraction,
        "before": {"mnist_accuracy": answered_accuracy(base, test_split),
                   "reviewed_accuracy": answered_accuracy(base, held_out)},
    }
    initial_state = None
    if fine_tune:
        initial_state = with_outputs_of(base.model.state_dict(), config.architecture, config.seed)
    log(f"{'fine-tuning ' + base_name if fine_tune else 'training from scratch'} on {mnist_images:,} MNIST images, "
        f"the extras and {len(fit.labels):,} reviewed drawings ({not_digit_count(fit):,} of them not a digit; "
        f"weight {reviewed_weight}); {len(held_out.labels):,} reviewed drawings held out "
        f"({not_digit_count(held_out):,} not a digit)")
    result = train_with_extras(config, train_split, test_split, extras, reviewed=fit, reviewed_weight=reviewed_weight,
                               initial_state=initial_state, calibration_drawings=calibration_drawings,
                               progress=progress, log=log)
    summary["after"] = {"mnist_accuracy": result.metadata["answered_test_accuracy"],
                        "reviewed_accuracy": answered_accuracy(Predictor(result.model, result.metadata), held_out)}
    result.metadata["reviewed_training"] = summary
    return Retraining(result, summary)
