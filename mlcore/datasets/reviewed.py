"""Reviewed drawings in training: a stable hold-out, and mixing them into MNIST with their own weight."""

from __future__ import annotations

import hashlib

import numpy as np

from ..data import Split


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


def mix(base: Split, extra: Split, extra_weight: float) -> tuple[Split, np.ndarray]:
    """base followed by extra, and per-image sample weights: 1 for base, extra_weight for extra."""
    if extra_weight <= 0:
        raise ValueError(f"the weight of the reviewed drawings must be positive, not {extra_weight}")
    images = np.concatenate([base.images, extra.images])
    labels = np.concatenate([base.labels, extra.labels.astype(np.int64)])
    weights = np.concatenate([np.ones(len(base.labels), dtype=np.float32),
                              np.full(len(extra.labels), extra_weight, dtype=np.float32)])
    return Split(images, labels), weights
