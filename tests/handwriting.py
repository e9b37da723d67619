"""Digits drawn as strokes, the way a person draws them on the page: (x, y) fractions of the canvas side."""

from __future__ import annotations

import numpy as np

_ARC = np.linspace(0, 2 * np.pi, 40)

DIGITS = {
    0: [list(zip(0.5 + 0.22 * np.sin(_ARC), 0.5 - 0.32 * np.cos(_ARC)))],
    1: [[(0.52, 0.14), (0.5, 0.5), (0.48, 0.86)]],
    2: [[(0.3, 0.3), (0.4, 0.18), (0.58, 0.16), (0.68, 0.28), (0.64, 0.44), (0.3, 0.82), (0.72, 0.82)]],
    3: [[(0.3, 0.2), (0.6, 0.16), (0.68, 0.3), (0.46, 0.48), (0.7, 0.62), (0.64, 0.8), (0.3, 0.82)]],
    # Multi-stroke digits: each stroke alone reads as something else.
    4: [[(0.52, 0.14), (0.26, 0.6), (0.76, 0.6)], [(0.62, 0.3), (0.62, 0.88)]],
    5: [[(0.36, 0.18), (0.33, 0.48), (0.56, 0.44), (0.7, 0.6), (0.62, 0.8), (0.32, 0.82)],
        [(0.36, 0.18), (0.7, 0.18)]],
    6: [[(0.62, 0.14), (0.4, 0.38), (0.32, 0.66), (0.46, 0.84), (0.64, 0.74), (0.62, 0.54), (0.42, 0.52),
         (0.34, 0.62)]],
    7: [[(0.28, 0.2), (0.72, 0.2), (0.45, 0.86)], [(0.38, 0.52), (0.64, 0.52)]],
    8: [[(0.62, 0.24), (0.5, 0.16), (0.36, 0.26), (0.44, 0.42), (0.64, 0.6), (0.58, 0.82), (0.4, 0.82),
         (0.36, 0.64), (0.56, 0.42), (0.62, 0.24)]],
    9: [[(0.64, 0.3), (0.5, 0.18), (0.36, 0.28), (0.4, 0.46), (0.62, 0.42), (0.64, 0.3), (0.6, 0.86)]],
}


def as_sent(strokes, pointer: str = "mouse", pause_ms: int = 400) -> list[dict]:
    """Strokes in the API's format, with a point every 16 ms and a pause between strokes."""
    sent, t = [], 0
    for stroke in strokes:
        points = []
        for x, y in stroke:
            points.append([round(float(x), 4), round(float(y), 4), t, 0.5])
            t += 16
        sent.append({"pointer": pointer, "points": points})
        t += pause_ms
    return sent
