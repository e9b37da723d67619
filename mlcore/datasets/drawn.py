"""MNIST digits re-drawn as canvas strokes: the pen the page uses, on a writer's shapes.

Each digit is thinned to its skeleton (scikit-image), the skeleton is traced into stroke
paths, and the paths are drawn again through `render.render_strokes` with a uniform round pen
of varied width, at a varied size and place on the canvas, then normalised by
`preprocess.to_mnist_input` as the site normalises a drawing's image. The shapes stay the
writer's; the pen becomes the canvas's. The site reads a small drawing again with a pen that
fits it (`render.reading_pen`, through `render.reading`); this set keeps the pen it
drew with, at every size: a harder case, and the one the figures measure.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from skimage.morphology import skeletonize

from ..preprocess import to_mnist_input
from ..render import render_strokes

# The digit is thinned at this many times MNIST's resolution, for smoother paths.
UPSCALE = 4
# A skeleton branch shorter than this many upscaled pixels, ending free, is a spur of thinning.
SPUR = 6
# Every this-many skeleton pixels becomes one sampled point, like the page's pointer events.
SAMPLE_EVERY = 3
# Ranges of the canvas drawing: the pen's diameter and the digit's height, as fractions of the side.
PEN_WIDTHS = (1 / 22, 1 / 9)
DIGIT_HEIGHTS = (0.35, 0.9)
NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]


def skeleton(digit: np.ndarray) -> np.ndarray:
    """The one-pixel-wide skeleton of a 28x28 uint8 digit, at UPSCALE times its size."""
    big = Image.fromarray(digit).resize((28 * UPSCALE, 28 * UPSCALE), Image.Resampling.BICUBIC)
    ink = np.asarray(big, dtype=np.float32)
    return skeletonize(ink > 0.4 * ink.max())


def _neighbours(pixels: set, point: tuple[int, int]) -> list[tuple[int, int]]:
    y, x = point
    return [(y + dy, x + dx) for dy, dx in NEIGHBOURS if (y + dy, x + dx) in pixels]


def _walk(pixels: set, start, used: set) -> list[tuple[int, int]]:
    """Follow unused skeleton steps from start, always taking the straightest way on."""
    path = [start]
    while True:
        here = path[-1]
        options = [n for n in _neighbours(pixels, here) if frozenset((here, n)) not in used]
        if not options:
            return path
        if len(path) > 1:
            heading = np.subtract(here, path[max(0, len(path) - 4)])
            options.sort(key=lambda n: -float(np.dot(np.subtract(n, here), heading))
                         / (np.linalg.norm(np.subtract(n, here)) * (np.linalg.norm(heading) or 1)))
        step = options[0]
        # Mark the step and the steps that only cut the corner of a diagonal triangle.
        used.add(frozenset((here, step)))
        for other in _neighbours(pixels, here):
            if other in _neighbours(pixels, step):
                used.add(frozenset((here, other)))
                used.add(frozenset((other, step)))
        path.append(step)


def trace(mask: np.ndarray) -> list[np.ndarray]:
    """A skeleton mask as stroke paths, each an (n, 2) array of (x, y) pixel positions in order."""
    pixels = set(zip(*np.nonzero(mask)))
    used: set = set()
    degree = {p: len(_neighbours(pixels, p)) for p in pixels}
    # Start at free ends first, then at junctions, then anywhere left (closed loops such as a 0).
    starts = ([p for p in sorted(pixels) if degree[p] == 1] + [p for p in sorted(pixels) if degree[p] >= 3]
              + sorted(pixels))
    paths = []
    for start in starts:
        while any(frozenset((start, n)) not in used for n in _neighbours(pixels, start)):
            path = _walk(pixels, start, used)
            if len(path) > 1:
                paths.append(path)
    kept = [p for p in paths if len(p) >= SPUR or not _is_spur(p, degree)]
    if not kept and pixels:
        kept = [[min(pixels)]]
    return [np.array([(x, y) for y, x in path], dtype=np.float64) for path in kept]


def _is_spur(path, degree) -> bool:
    return degree[path[0]] == 1 or degree[path[-1]] == 1


def digit_strokes(digit: np.ndarray) -> list[np.ndarray]:
    """A 28x28 digit as strokes of sampled points, in the digit's own frame of [0, 1] fractions."""
    strokes = []
    for path in trace(skeleton(digit)):
        sampled = path[::SAMPLE_EVERY]
        if len(path) > 1 and not np.array_equal(sampled[-1], path[-1]):
            sampled = np.vstack([sampled, path[-1:]])
        strokes.append((sampled + 0.5) / (28 * UPSCALE))
    return strokes


def place(strokes: list[np.ndarray], rng: np.random.Generator, height_range=DIGIT_HEIGHTS) -> list[np.ndarray]:
    """Strokes scaled to a random height and moved to a random place that keeps them on the canvas."""
    points = np.vstack(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    extent = np.maximum(high - low, 1e-3)
    scale = rng.uniform(*height_range) / max(extent[1], extent[0] * 0.75)
    size = extent * scale
    corner = rng.uniform(0.04, np.maximum(0.96 - size, 0.04 + 1e-6))
    # A slight tremor of the hand, a fraction of a pen width.
    return [(s - low) * scale + corner + rng.normal(0, 0.003, s.shape) for s in strokes]


def draw(strokes: list[np.ndarray], rng: np.random.Generator, pen_widths=PEN_WIDTHS) -> np.ndarray:
    """Strokes in canvas fractions through the page's pen and the site's preprocessing, as uint8 28x28."""
    image = render_strokes([s.tolist() for s in strokes], pen_width=rng.uniform(*pen_widths))
    return np.round(to_mnist_input(image) * 255).astype(np.uint8)


def drawn_digits(images: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits re-drawn as canvas strokes: (uint8 N x 28 x 28 model inputs, the same labels)."""
    rng = np.random.default_rng(seed)
    drawn = np.stack([draw(place(digit_strokes(digit), rng), rng) for digit in images]) if len(images) else \
        np.zeros((0, 28, 28), dtype=np.uint8)
    return drawn, np.asarray(labels, dtype=np.int64).copy()
