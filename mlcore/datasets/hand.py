"""How a person's hand draws a template: pen strokes in a unit box, slanted, stretched, turned and wobbly.

The generated drawings (`negatives`, `styles`) are templates of strokes, (x, y) in a unit box
with y downwards; `deform` gives each drawing its own hand before the page's pen draws it.
"""

from __future__ import annotations

import numpy as np

Stroke = list[tuple[float, float]]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 12) -> Stroke:
    """Points on an elliptic arc, angles in degrees, 0 at the right, counting clockwise on screen (y down)."""
    angles = np.radians(np.linspace(start, end, steps))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


def deform(strokes: list[Stroke], rng: np.random.Generator) -> list[np.ndarray]:
    """A template as a person might draw it: slanted, stretched, rotated a little, wobbly."""
    slant = np.tan(np.radians(rng.uniform(-20, 20)))
    angle = np.radians(rng.uniform(-12, 12))
    stretch = np.exp(rng.uniform(-0.3, 0.3))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    out = []
    for stroke in strokes:
        xy = np.asarray(stroke, dtype=np.float64)
        xy = xy + rng.normal(0, 0.025, xy.shape)
        xy[:, 0] = (xy[:, 0] - 0.5) * stretch - slant * (xy[:, 1] - 0.5)
        xy[:, 1] = xy[:, 1] - 0.5
        out.append(densify(xy @ rotation.T))
    return out


def densify(xy: np.ndarray, step: float = 0.06) -> np.ndarray:
    """Points at most `step` apart along a polyline, so the page's midpoint curves keep its corners close."""
    if len(xy) < 2:
        return xy
    pieces = [xy[:1]]
    for a, b in zip(xy[:-1], xy[1:]):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        pieces.append(a + (b - a) * np.linspace(0, 1, n + 1)[1:, None])
    return np.vstack(pieces)
