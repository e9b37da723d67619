"""Strokes to a drawing image: the one rendering the site, the drawn evaluation set and training share.

A stroke is a sequence of points (x, y) given as fractions of a square canvas's side, in the
order they were drawn. The pen is round and uniform, as the page's canvas draws it: lines
curve through the midpoints between samples, and a stroke of one point is a dot.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

# The page's pen: a fourteenth of the canvas side, which looks like a felt pen at any size.
PEN_WIDTH = 1 / 14
SIDE = 140
# Drawn this many times larger, then averaged down: anti-aliased edges like a browser canvas.
SUPERSAMPLE = 2
# Points along each quadratic curve between two midpoints.
CURVE_STEPS = 4
# The model reads a drawing with a pen at most this share of the drawing's extent, about MNIST's
# own pen: the page's pen is a share of the canvas, so a digit drawn small in it would reach the
# model as a blob with its loops filled in (v4 read 82 % of re-drawn digits drawn 15 % of the
# canvas high, 98 % read with this pen).
READING_PEN_SHARE = 0.15
# ...and at least this share of the canvas: a dot or a tiny mark stays a few pixels wide.
MIN_READING_PEN = 1 / 100
# Strokes whose points span less than this share of the canvas are a tap, a click or a tick, no
# digit: enlarged into the model's frame, a tick of a fiftieth of the canvas was read as a 1 at
# 99.8 %. Digits drawn four hundredths of the canvas high are still read (73 % of test digits right).
SPECK = 0.03

Point = Sequence[float]
Stroke = Sequence[Point]


def smooth(points: Stroke) -> np.ndarray:
    """The polyline the page traces: quadratic curves through the midpoints between samples."""
    xy = np.asarray([(p[0], p[1]) for p in points], dtype=np.float64)
    if len(xy) < 3:
        return xy
    controls = xy[1:-1]
    ends = (xy[1:-1] + xy[2:]) / 2
    starts = np.concatenate([xy[:1], ends[:-1]])
    t = np.linspace(0, 1, CURVE_STEPS + 1)[1:, np.newaxis, np.newaxis]
    # (steps, curves, 2) points on each curve, then ordered curve by curve.
    curves = (1 - t) ** 2 * starts + 2 * (1 - t) * t * controls + t ** 2 * ends
    return np.concatenate([xy[:1], curves.transpose(1, 0, 2).reshape(-1, 2), xy[-1:]])


def extent(strokes: Sequence[Stroke]) -> float:
    """The larger of the strokes' spans across and down, as a share of the canvas side; 0 for none."""
    points = [point for stroke in strokes for point in stroke]
    if not points:
        return 0.0
    xy = np.asarray([(p[0], p[1]) for p in points], dtype=np.float64)
    return float((xy.max(axis=0) - xy.min(axis=0)).max())


def is_speck(strokes: Sequence[Stroke]) -> bool:
    """Whether the strokes are a tap, a click or a tick: some ink, spanning less than SPECK of the canvas."""
    return any(len(stroke) for stroke in strokes) and extent(strokes) < SPECK


def reading_pen(strokes: Sequence[Stroke], pen_width: float = PEN_WIDTH) -> float:
    """The pen the model reads strokes with: the one they were drawn with (`pen_width`), or a thinner
    one where the drawing is small."""
    if not any(len(stroke) for stroke in strokes):
        return pen_width
    return min(pen_width, max(READING_PEN_SHARE * extent(strokes), MIN_READING_PEN))


def on_canvas(strokes: Sequence[Stroke], pen_width: float = PEN_WIDTH) -> tuple[Sequence[Stroke], float]:
    """The strokes and pen as they are, or, where the strokes go past the canvas's edge, moved onto it
    (and shrunk, pen and all, where they are larger), so that the drawing is read whole.

    A pointer that leaves the canvas goes on drawing; the canvas shows only its part on it, but the
    digit the person drew is the whole of it.
    """
    points = [point for stroke in strokes for point in stroke]
    if not points:
        return strokes, pen_width
    xy = np.asarray([(p[0], p[1]) for p in points], dtype=np.float64)
    if xy.min() >= 0 and xy.max() <= 1:
        return strokes, pen_width
    low, high = xy.min(axis=0) - pen_width / 2, xy.max(axis=0) + pen_width / 2
    scale = min(1.0, 1 / float((high - low).max()))
    offset = (1 - (high - low) * scale) / 2
    return [((np.asarray(stroke, dtype=np.float64)[:, :2] - low) * scale + offset).tolist()
            for stroke in strokes if len(stroke)], pen_width * scale


def render_strokes(strokes: Sequence[Stroke], side: int = SIDE, pen_width: float = PEN_WIDTH) -> Image.Image:
    """A greyscale ("L") image of the strokes: dark ink on white paper, `side` pixels square.

    `pen_width` is the pen's diameter as a fraction of the side.
    """
    big = side * SUPERSAMPLE
    radius = max(pen_width * big / 2, 0.5)
    ink = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(ink)
    for stroke in strokes:
        if len(stroke) == 0:
            continue
        path = smooth(stroke) * big
        points = [tuple(point) for point in path]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(2 * radius)))
        # Discs at the ends and at each sample make the caps and joins round, as the canvas's
        # lineCap and lineJoin do; a stroke of one point is a dot. (Pillow's own curved joints
        # cost ten times as much on long strokes.)
        for x, y in points[::CURVE_STEPS] + points[-1:]:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    ink = ink.reduce(SUPERSAMPLE)
    return Image.eval(ink, lambda value: 255 - value)
