"""Digits in the writing styles of other hands: the shapes MNIST's American writers rarely made.

A European 1 with a long flag and a foot, a 0 with a slash through it (a programmer's), a 7 with
a bar through it, a 4 closed at the top or open, a 2 with a loop, a 3 with a flat top, a 9 with a
straight or a curved tail: people on the site write them, and a model trained on MNIST alone
reads a flagged 1 as a 7. Each style is a template of pen strokes in a unit box; `styled_digits`
draws them through the same hand (slant, stretch, rotation, wobble) and the page's pen as the
generated non-digits, so they are a measure of other hands (`evaluate`) and a lever to train on
(`train --styled-digits`).
"""

from __future__ import annotations

import numpy as np

from .drawn import draw, place
from .hand import Stroke, arc, deform

STYLES: dict[int, list[list[Stroke]]] = {
    0: [[arc(0.5, 0.5, 0.4, 0.5, -90, 270, 18)],
        [arc(0.5, 0.5, 0.42, 0.5, -60, 290, 18)],
        [arc(0.5, 0.5, 0.4, 0.5, -90, 270, 18), [(0.8, 0.08), (0.2, 0.92)]]],
    1: [[[(0.5, 0), (0.5, 1)]],
        [[(0.3, 0.2), (0.55, 0), (0.55, 1)]],
        [[(0.1, 0.35), (0.6, 0), (0.6, 1)]],
        [[(0.25, 0.25), (0.55, 0), (0.55, 1)], [(0.25, 1), (0.85, 1)]]],
    2: [[arc(0.5, 0.3, 0.38, 0.3, 200, 390, 9) + [(0.1, 1), (0.9, 1)]],
        [arc(0.5, 0.3, 0.38, 0.3, 200, 400, 9) + [(0.2, 0.9)] + arc(0.25, 0.85, 0.1, 0.12, 0, -300, 6)
         + [(0.9, 1)]]],
    3: [[arc(0.45, 0.27, 0.38, 0.27, 200, 450, 10) + arc(0.45, 0.73, 0.4, 0.27, -90, 160, 10)[1:]],
        [[(0.1, 0), (0.85, 0), (0.4, 0.42)] + arc(0.45, 0.7, 0.4, 0.3, -90, 160, 10)]],
    4: [[[(0.6, 0), (0.05, 0.7), (0.95, 0.7)], [(0.7, 0.35), (0.7, 1)]],
        [[(0.2, 0), (0.1, 0.6), (0.9, 0.6)], [(0.7, 0), (0.7, 1)]],
        [[(0.65, 1), (0.65, 0), (0.05, 0.65), (0.95, 0.65)]]],
    5: [[[(0.85, 0), (0.2, 0), (0.15, 0.45)] + arc(0.45, 0.7, 0.4, 0.3, -120, 150, 10)],
        [[(0.2, 0), (0.15, 0.45)] + arc(0.45, 0.7, 0.4, 0.3, -120, 150, 10), [(0.2, 0), (0.85, 0)]]],
    6: [[[(0.75, 0), (0.2, 0.6)] + arc(0.5, 0.72, 0.35, 0.28, 180, 540, 14)],
        [arc(0.6, 0.45, 0.4, 0.45, -60, -180, 6) + arc(0.5, 0.72, 0.35, 0.28, 180, 540, 14)]],
    7: [[[(0.1, 0), (0.9, 0), (0.35, 1)]],
        [[(0.1, 0), (0.9, 0), (0.35, 1)], [(0.3, 0.5), (0.85, 0.5)]],
        [[(0.05, 0.15), (0.1, 0), (0.9, 0), (0.5, 0.5), (0.45, 1)]]],
    8: [[arc(0.5, 0.25, 0.3, 0.25, 90, 450, 12) + arc(0.5, 0.73, 0.38, 0.27, -90, 270, 14)],
        [arc(0.5, 0.25, 0.28, 0.25, 0, 360, 12), arc(0.5, 0.73, 0.36, 0.27, 0, 360, 14)]],
    9: [[arc(0.5, 0.3, 0.35, 0.3, 0, 360, 14) + [(0.85, 0.3), (0.8, 1)]],
        [arc(0.5, 0.3, 0.35, 0.3, 0, 360, 14) + [(0.85, 0.3), (0.8, 0.85)] + arc(0.6, 0.85, 0.2, 0.15, 0, 150, 5)],
        [arc(0.45, 0.28, 0.35, 0.28, 0, 360, 14), [(0.8, 0.1), (0.75, 1)]]],
}


def styled_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` digits, the ten in turn, each in a random style of STYLES: (uint8 inputs, labels)."""
    if count < 0:
        raise ValueError(f"count must be at least 0, not {count}")
    rng = np.random.default_rng(seed)
    labels = np.arange(count, dtype=np.int64) % 10
    drawings = [draw(place(deform(STYLES[d][rng.integers(len(STYLES[d]))], rng), rng), rng) for d in labels]
    return (np.stack(drawings) if drawings else np.zeros((0, 28, 28), dtype=np.uint8)), labels
