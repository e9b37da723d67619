"""Kinds of non-digit the generator never draws: a probe of how far "not a digit" reaches.

The "not a digit" output learns from `negatives`' kinds, and its held-out figure is measured on
more of the same kinds. A person may draw anything else: these twelve are drawn by the same hand
and pen as the negatives, but neither `negatives` nor `styles` draws them, so the share answered
"not a digit" says how the output does on the unforeseen. Small v, w and x are near kin of the
capitals the generator draws, and are caught as those are; the lightning bolt, the note, ψ, ♂ and
ü are the strangers. Never train or tune on them: a kind that joins the generator leaves this
probe, and another takes its place.
"""

from __future__ import annotations

import numpy as np

from .drawn import draw, place
from .hand import Stroke, arc, deform
from .negatives import NOT_DIGIT_HEIGHTS

UNSEEN_KINDS: dict[str, list[Stroke]] = {
    "lightning": [[(0.6, 0), (0.2, 0.55), (0.6, 0.5), (0.3, 1)]],
    "dagger": [[(0.5, 0), (0.5, 1)], [(0.15, 0.3), (0.85, 0.3)]],
    "c": [arc(0.55, 0.5, 0.4, 0.4, -40, -320, 12)],
    "p": [[(0.2, 0.2), (0.2, 1.2)], arc(0.45, 0.45, 0.3, 0.27, 180, 540, 14)],
    "v": [[(0.1, 0.2), (0.5, 1), (0.9, 0.2)]],
    "w": [[(0, 0.2), (0.25, 1), (0.5, 0.45), (0.75, 1), (1, 0.2)]],
    "x": [[(0.15, 0.2), (0.85, 1)], [(0.85, 0.2), (0.15, 1)]],
    "ü": [[(0.15, 0.3), (0.15, 0.75)] + arc(0.45, 0.75, 0.3, 0.25, 180, 0, 8)[1:] + [(0.75, 0.3), (0.75, 1)],
          [(0.25, 0.05)], [(0.65, 0.05)]],
    "note": [arc(0.3, 0.85, 0.2, 0.13, 0, 360, 10), [(0.5, 0.85), (0.5, 0), (0.85, 0.25)]],
    "psi": [arc(0.5, 0.2, 0.35, 0.4, 180, 0, 10), [(0.5, 0), (0.5, 1)]],
    "mars": [arc(0.4, 0.6, 0.3, 0.3, 0, 360, 14), [(0.6, 0.4), (0.95, 0.05)],
             [(0.65, 0.05), (0.95, 0.05), (0.95, 0.35)]],
    "yen": [[(0.1, 0), (0.5, 0.45), (0.9, 0)], [(0.5, 0.45), (0.5, 1)], [(0.2, 0.55), (0.8, 0.55)],
            [(0.2, 0.75), (0.8, 0.75)]],
}


def unseen_not_digits(per_kind: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`per_kind` drawings of each of UNSEEN_KINDS: (uint8 N x 28 x 28 model inputs, each one's kind)."""
    if per_kind < 0:
        raise ValueError(f"per_kind must be at least 0, not {per_kind}")
    rng = np.random.default_rng(seed)
    kinds = np.repeat(list(UNSEEN_KINDS), per_kind)
    # Drawn as the generator's non-digits are, so that only the kinds differ.
    drawings = [draw(place(deform(UNSEEN_KINDS[kind], rng), rng, height_range=NOT_DIGIT_HEIGHTS), rng)
                for kind in kinds]
    return (np.stack(drawings) if drawings else np.zeros((0, 28, 28), dtype=np.uint8)), kinds
