"""Drawings that are not one digit, generated: the negatives the "not a digit" output learns from.

Six kinds, in equal shares: letters (capital and small) and symbols written as pen strokes,
shapes and doodles, scribbles, numbers of two or three digits side by side, and short words.
Every drawing goes through the page's pen (`render.render_strokes`) and the site's
preprocessing (`preprocess.to_mnist_input`) with a varied pen width, size, place, slant and
wobble, like a person's drawing.

Left out on purpose, because a person drawing them makes a digit: O and a circle (0), I and a
vertical bar (1), a slash (1), small l, o, b, g, q, s, u and z (1, 0, 6, 9, 9, 5, 4, 2). S, Z,
B and G are kept in their letter forms (a curved S, a Z with sharp corners, a B with a straight
back, a G with its bar); they are the closest to digits there are.
"""

from __future__ import annotations

import numpy as np

from .drawn import digit_strokes, draw, place
from .hand import Stroke, arc, deform
from .styles import STYLES

# Letters and symbols in a unit box, (x, y) with y downwards, one list of strokes each.
GLYPHS: dict[str, list[Stroke]] = {
    "A": [[(0.1, 1), (0.5, 0), (0.9, 1)], [(0.27, 0.6), (0.73, 0.6)]],
    "B": [[(0.15, 0), (0.15, 1)], [(0.15, 0)] + arc(0.5, 0.25, 0.35, 0.25, -90, 90)[1:-1] + [(0.15, 0.5)],
          [(0.15, 0.5)] + arc(0.5, 0.75, 0.38, 0.25, -90, 90)[1:-1] + [(0.15, 1)]],
    "C": [arc(0.55, 0.5, 0.45, 0.5, -45, -315, 16)],
    "D": [[(0.15, 0), (0.15, 1)], [(0.15, 0)] + arc(0.4, 0.5, 0.5, 0.5, -80, 80, 14)[1:-1] + [(0.15, 1)]],
    "E": [[(0.85, 0), (0.15, 0), (0.15, 1), (0.85, 1)], [(0.15, 0.5), (0.7, 0.5)]],
    "F": [[(0.85, 0), (0.15, 0), (0.15, 1)], [(0.15, 0.5), (0.7, 0.5)]],
    "G": [arc(0.5, 0.5, 0.45, 0.5, -40, -360, 16) + [(0.95, 0.5), (0.95, 0.95)], [(0.6, 0.55), (0.95, 0.55)]],
    "H": [[(0.15, 0), (0.15, 1)], [(0.85, 0), (0.85, 1)], [(0.15, 0.5), (0.85, 0.5)]],
    "J": [[(0.3, 0), (0.9, 0)], [(0.7, 0), (0.7, 0.75)] + arc(0.45, 0.75, 0.25, 0.25, 0, 180, 8)[1:]],
    "K": [[(0.15, 0), (0.15, 1)], [(0.85, 0), (0.15, 0.55)], [(0.35, 0.42), (0.85, 1)]],
    "L": [[(0.2, 0), (0.2, 1), (0.85, 1)]],
    "M": [[(0.05, 1), (0.15, 0), (0.5, 0.6), (0.85, 0), (0.95, 1)]],
    "N": [[(0.15, 1), (0.15, 0), (0.85, 1), (0.85, 0)]],
    "P": [[(0.15, 1), (0.15, 0)], [(0.15, 0)] + arc(0.45, 0.27, 0.4, 0.27, -90, 90)[1:-1] + [(0.15, 0.55)]],
    "Q": [arc(0.5, 0.5, 0.45, 0.5, 0, 360, 20), [(0.55, 0.7), (0.95, 1.05)]],
    "R": [[(0.15, 1), (0.15, 0)], [(0.15, 0)] + arc(0.45, 0.27, 0.4, 0.27, -90, 90)[1:-1] + [(0.15, 0.55)],
          [(0.4, 0.55), (0.85, 1)]],
    "S": [arc(0.5, 0.27, 0.38, 0.27, -20, -270, 10) + arc(0.5, 0.73, 0.38, 0.27, -90, 150, 10)[1:]],
    "T": [[(0.05, 0), (0.95, 0)], [(0.5, 0), (0.5, 1)]],
    "U": [[(0.15, 0), (0.15, 0.65)] + arc(0.5, 0.65, 0.35, 0.35, 180, 0, 10)[1:] + [(0.85, 0)]],
    "V": [[(0.05, 0), (0.5, 1), (0.95, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "X": [[(0.1, 0), (0.9, 1)], [(0.9, 0), (0.1, 1)]],
    "Y": [[(0.1, 0), (0.5, 0.5), (0.9, 0)], [(0.5, 0.5), (0.5, 1)]],
    "Z": [[(0.1, 0), (0.9, 0), (0.1, 1), (0.9, 1)]],
    "#": [[(0.4, 0), (0.3, 1)], [(0.75, 0), (0.65, 1)], [(0.05, 0.33), (0.95, 0.33)], [(0.0, 0.67), (0.9, 0.67)]],
    "@": [arc(0.5, 0.5, 0.17, 0.2, 0, 360, 12),
          [(0.67, 0.35), (0.67, 0.65)] + arc(0.8, 0.65, 0.13, 0.12, 180, 0, 6)[1:] + arc(0.5, 0.5, 0.45, 0.5, 0, -300, 18)],
    "&": [[(0.9, 1)] + arc(0.45, 0.25, 0.2, 0.2, 120, -220, 12) + [(0.15, 0.7)] + arc(0.4, 0.75, 0.25, 0.25, 180, 45, 8)
          + [(0.85, 0.5)]],
    "%": [[(0.9, 0), (0.1, 1)], arc(0.22, 0.2, 0.15, 0.17, 0, 360, 10), arc(0.78, 0.8, 0.15, 0.17, 0, 360, 10)],
    "$": [arc(0.5, 0.3, 0.35, 0.2, -20, -270, 10) + arc(0.5, 0.7, 0.35, 0.2, -90, 150, 10)[1:], [(0.5, -0.1), (0.5, 1.1)]],
    "+": [[(0.5, 0.05), (0.5, 0.95)], [(0.05, 0.5), (0.95, 0.5)]],
    "=": [[(0.05, 0.3), (0.95, 0.3)], [(0.05, 0.7), (0.95, 0.7)]],
    "-": [[(0.0, 0.5), (1.0, 0.5)]],
    "?": [arc(0.5, 0.28, 0.35, 0.28, 200, 450, 10) + [(0.5, 0.7)], [(0.5, 0.95)]],
    "!": [[(0.5, 0), (0.5, 0.7)], [(0.5, 0.95)]],
    "*": [[(0.5, 0), (0.5, 1)], [(0.07, 0.25), (0.93, 0.75)], [(0.93, 0.25), (0.07, 0.75)]],
    "<": [[(0.9, 0), (0.1, 0.5), (0.9, 1)]],
    ">": [[(0.1, 0), (0.9, 0.5), (0.1, 1)]],
    "€": [arc(0.55, 0.5, 0.4, 0.5, -45, -315, 14), [(0.05, 0.4), (0.6, 0.4)], [(0.05, 0.6), (0.6, 0.6)]],
    "π": [[(0.0, 0.1), (1.0, 0.1)], [(0.3, 0.1), (0.25, 1)], [(0.7, 0.1), (0.75, 1)]],
    "e": [[(0.1, 0.55), (0.9, 0.55)] + arc(0.5, 0.55, 0.4, 0.45, 0, -320, 14)],
    "f": [arc(0.7, 0.2, 0.2, 0.2, -30, -180, 6) + [(0.5, 1)], [(0.2, 0.45), (0.8, 0.45)]],
    "h": [[(0.15, 0), (0.15, 1)], [(0.15, 0.65)] + arc(0.5, 0.65, 0.35, 0.3, 180, 360, 8) + [(0.85, 1)]],
    "k": [[(0.2, 0), (0.2, 1)], [(0.8, 0.35), (0.2, 0.7)], [(0.4, 0.6), (0.85, 1)]],
    "m": [[(0.05, 0.3), (0.05, 1)], [(0.05, 0.55)] + arc(0.27, 0.55, 0.22, 0.25, 180, 360, 6) + [(0.49, 1)],
          [(0.49, 0.55)] + arc(0.72, 0.55, 0.23, 0.25, 180, 360, 6) + [(0.95, 1)]],
    "n": [[(0.15, 0.2), (0.15, 1)], [(0.15, 0.5)] + arc(0.5, 0.5, 0.35, 0.3, 180, 360, 8) + [(0.85, 1)]],
    "r": [[(0.2, 0.1), (0.2, 1)], [(0.2, 0.45)] + arc(0.55, 0.45, 0.35, 0.3, 180, 310, 6)],
    "t": [[(0.45, 0), (0.45, 0.8)] + arc(0.65, 0.8, 0.2, 0.2, 180, 60, 5)[1:], [(0.1, 0.3), (0.85, 0.3)]],
    "y": [[(0.1, 0), (0.5, 0.55)], [(0.9, 0), (0.3, 1)]],
    "a": [arc(0.45, 0.6, 0.35, 0.38, -20, -340, 12) + [(0.8, 0.2), (0.8, 1)]],
    "d": [arc(0.45, 0.65, 0.35, 0.33, 0, 360, 12), [(0.8, 0), (0.8, 1)]],
    "ß": [[(0.2, 1), (0.2, 0.25)] + arc(0.45, 0.25, 0.25, 0.22, 180, 360, 6) + [(0.45, 0.5)]
          + arc(0.45, 0.72, 0.3, 0.26, -90, 120, 7)],
    "λ": [[(0.15, 0), (0.85, 1)], [(0.5, 0.5), (0.1, 1)]],
    "α": [arc(0.4, 0.5, 0.3, 0.35, 20, 340, 12) + [(0.95, 0.95)], [(0.7, 0.15), (0.95, 0.05)]],
    "β": [[(0.2, 1.2), (0.2, 0.2)] + arc(0.45, 0.25, 0.25, 0.22, 180, 450, 8)
          + arc(0.45, 0.7, 0.3, 0.25, -90, 180, 8)],
    "Σ": [[(0.9, 0), (0.1, 0), (0.55, 0.5), (0.1, 1), (0.9, 1)]],
    "Ω": [[(0.05, 1), (0.35, 1)] + arc(0.5, 0.45, 0.4, 0.45, 120, 420, 14)[1:] + [(0.65, 1), (0.95, 1)]],
    "~": [[(x, 0.5 - 0.2 * np.sin(2 * np.pi * x)) for x in np.linspace(0, 1, 12)]],
    "^": [[(0.05, 0.9), (0.5, 0.1), (0.95, 0.9)]],
    "÷": [[(0.0, 0.5), (1.0, 0.5)], [(0.5, 0.15)], [(0.5, 0.85)]],
    "√": [[(0.0, 0.6), (0.2, 0.5), (0.4, 1), (0.65, 0), (1.0, 0)]],
    "∞": [arc(0.27, 0.5, 0.25, 0.25, 0, 360, 12) + arc(0.77, 0.5, 0.25, 0.25, 180, -180, 12)],
    "[]": [[(0.35, 0), (0.05, 0), (0.05, 1), (0.35, 1)], [(0.65, 0), (0.95, 0), (0.95, 1), (0.65, 1)]],
}

SHAPES: dict[str, list[Stroke]] = {
    "triangle": [[(0.5, 0), (1, 1), (0, 1), (0.5, 0)]],
    "square": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]],
    "star": [[(0.5, 0), (0.8, 1), (0, 0.35), (1, 0.35), (0.2, 1), (0.5, 0)]],
    "heart": [arc(0.27, 0.3, 0.23, 0.25, 180, 360, 8) + arc(0.73, 0.3, 0.23, 0.25, 180, 360, 8)
              + [(0.5, 1), (0.04, 0.35)]],
    "arrow": [[(0, 0.5), (1, 0.5)], [(0.7, 0.2), (1, 0.5), (0.7, 0.8)]],
    "diamond": [[(0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5), (0.5, 0)]],
    "check": [[(0, 0.55), (0.35, 1), (1, 0)]],
    "spiral": [[(0.5 + 0.05 * a * np.cos(a), 0.5 + 0.05 * a * np.sin(a)) for a in np.linspace(0, 9, 30)]],
    "zigzag": [[(x / 5, 0.3 + 0.4 * (x % 2)) for x in range(6)]],
    "wave": [[(x, 0.5 + 0.25 * np.sin(4 * np.pi * x)) for x in np.linspace(0, 1, 20)]],
    "grid": [[(0.33, 0), (0.33, 1)], [(0.67, 0), (0.67, 1)], [(0, 0.33), (1, 0.33)], [(0, 0.67), (1, 0.67)]],
    "house": [[(0, 1), (0, 0.4), (0.5, 0), (1, 0.4), (1, 1), (0, 1)]],
    "crossed circle": [arc(0.5, 0.5, 0.4, 0.4, 0, 360, 16), [(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "smiley": [arc(0.5, 0.5, 0.5, 0.5, 0, 360, 18), [(0.33, 0.35)], [(0.67, 0.35)],
               arc(0.5, 0.55, 0.25, 0.2, 20, 160, 7)],
    "sun": [arc(0.5, 0.5, 0.22, 0.22, 0, 360, 12)]
           + [[(0.5 + 0.3 * np.cos(a), 0.5 + 0.3 * np.sin(a)), (0.5 + 0.5 * np.cos(a), 0.5 + 0.5 * np.sin(a))]
              for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)],
    "cloud": [arc(0.2, 0.6, 0.2, 0.2, 90, 270, 6) + arc(0.45, 0.35, 0.25, 0.25, 180, 340, 6)
              + arc(0.78, 0.55, 0.22, 0.22, 250, 450, 6) + [(0.2, 0.8)]],
    "hatching": [[(x / 12, 0.0 if x % 2 else 1.0) for x in range(13)]],
    "dots": [[(0.2, 0.3)], [(0.5, 0.7)], [(0.8, 0.4)]],
    "envelope": [[(0, 0.2), (1, 0.2), (1, 0.9), (0, 0.9), (0, 0.2), (0.5, 0.6), (1, 0.2)]],
    # Doodles: what people draw when they are not writing.
    "stick figure": [arc(0.5, 0.15, 0.13, 0.15, 0, 360, 10), [(0.5, 0.3), (0.5, 0.7)], [(0.15, 0.45), (0.85, 0.45)],
                     [(0.2, 1), (0.5, 0.7), (0.8, 1)]],
    "flower": [arc(0.5, 0.35, 0.12, 0.12, 0, 360, 8)]
              + [arc(0.5 + 0.22 * np.cos(a), 0.35 + 0.22 * np.sin(a), 0.1, 0.1, 0, 360, 8)
                 for a in np.linspace(0, 2 * np.pi, 6, endpoint=False)] + [[(0.5, 0.6), (0.5, 1)]],
    "tree": [[(0.5, 0), (0.1, 0.6), (0.9, 0.6), (0.5, 0)], [(0.45, 0.6), (0.45, 1)], [(0.55, 0.6), (0.55, 1)]],
    "moon": [arc(0.5, 0.5, 0.5, 0.5, 60, 300, 12) + arc(0.75, 0.5, 0.35, 0.45, 240, 120, 10)],
    "fish": [arc(0.4, 0.5, 0.4, 0.25, 0, 360, 14), [(0.8, 0.5), (1, 0.25), (1, 0.75), (0.8, 0.5)], [(0.2, 0.45)]],
    "eye": [arc(0.5, 0.7, 0.5, 0.45, 200, 340, 10), arc(0.5, 0.3, 0.5, 0.45, 20, 160, 10),
            arc(0.5, 0.5, 0.12, 0.12, 0, 360, 8)],
    "umbrella": [arc(0.5, 0.45, 0.5, 0.4, 180, 360, 12) + [(0.0, 0.45), (1, 0.45)],
                 [(0.5, 0.45), (0.5, 0.95)] + arc(0.4, 0.95, 0.1, 0.08, 0, 180, 4)],
    "face": [arc(0.5, 0.5, 0.45, 0.5, 0, 360, 16), [(0.35, 0.35)], [(0.65, 0.35)], [(0.5, 0.45), (0.45, 0.6)],
             [(0.35, 0.75), (0.65, 0.75)]],
    "cup": [[(0.1, 0.1), (0.2, 1), (0.7, 1), (0.8, 0.1)], arc(0.8, 0.55, 0.18, 0.2, -90, 90, 6)],
    "ladder": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.8, 1)]] + [[(0.2, y), (0.8, y)] for y in (0.2, 0.4, 0.6, 0.8)],
}

KINDS = ("letter", "symbol", "shape", "scribble", "number", "word")
# Not among KINDS, so the held-out non-digits stay the six kinds every model was measured on;
# training takes them only when asked for (`train --stray-marks`).
MARKS = "marks"
# How tall a non-digit is drawn, as a share of the canvas: from a small mark to most of it.
NOT_DIGIT_HEIGHTS = (0.3, 0.9)
LETTERS = [name for name in GLYPHS if name.isalpha() and name.isascii()]
SYMBOLS = [name for name in GLYPHS if name not in LETTERS]


def scribble(rng: np.random.Generator) -> list[np.ndarray]:
    """One to three strokes of a wandering pen: a smoothed random walk with momentum."""
    strokes = []
    # Long enough to be plainly no digit: a short wandering line could be a 1, a 7 or a 2.
    for _ in range(rng.integers(1, 4)):
        steps = rng.integers(35, 90)
        heading = rng.uniform(0, 2 * np.pi)
        turn = rng.normal(0, 0.6, steps).cumsum() * rng.uniform(0.2, 1.0)
        headings = heading + turn
        xy = np.cumsum(np.stack([np.cos(headings), np.sin(headings)], axis=1) * 0.05, axis=0)
        strokes.append(xy + rng.uniform(-0.2, 0.2, 2))
    return strokes


def stray_marks(rng: np.random.Generator) -> list[np.ndarray]:
    """Two to four strokes of no alphabet: lines, bent lines and arcs, each anywhere in the box.

    The templates are what someone might draw; these are the rest of what a pen can make, so that
    "not a digit" is also learnt for a mark nobody foresaw, not only for the listed ones.
    """
    strokes = []
    for _ in range(rng.integers(2, 5)):
        shape = rng.integers(3)
        if shape == 0:
            points = rng.uniform(0, 1, (2, 2))
        elif shape == 1:
            points = rng.uniform(0, 1, (rng.integers(3, 6), 2))
        else:
            start = rng.uniform(0, 360)
            points = np.array(arc(*rng.uniform(0.25, 0.75, 2), *rng.uniform(0.1, 0.45, 2),
                                  start, start + rng.choice([-1, 1]) * rng.uniform(90, 330), 10))
        strokes.append(points)
    return strokes


def side_by_side(glyphs: list[list[np.ndarray]], rng: np.random.Generator) -> list[np.ndarray]:
    """Glyphs written one after the other on a line, each scaled to about the same height."""
    strokes, left = [], 0.0
    for glyph in glyphs:
        points = np.vstack(glyph)
        low, high = points.min(axis=0), points.max(axis=0)
        height = max(high[1] - low[1], 1e-3)
        scale = rng.uniform(0.85, 1.15) / height
        # The gap between glyphs: from touching to half a glyph's height.
        gap = rng.uniform(0.0, 0.5)
        for s in glyph:
            strokes.append((s - low) * scale + [left, rng.uniform(-0.1, 0.1)])
        left += (high[0] - low[0]) * scale + gap
    return strokes


def number(rng: np.random.Generator, digits: np.ndarray | None) -> list[np.ndarray]:
    """Two (sometimes three) digits written side by side on one line."""
    count = 2 if rng.random() < 0.8 else 3
    if digits is not None and len(digits):
        return side_by_side([digit_strokes(digits[i]) for i in rng.integers(0, len(digits), count)], rng)
    return side_by_side([deform(STYLES[d][0], rng) for d in rng.integers(0, 10, count)], rng)


def word(rng: np.random.Generator) -> list[np.ndarray]:
    """Two or three letters side by side, as someone writing their initials or a short word."""
    return side_by_side([deform(GLYPHS[rng.choice(LETTERS)], rng) for _ in range(rng.integers(2, 4))], rng)


def not_digit_strokes(kind: str, rng: np.random.Generator, digits: np.ndarray | None = None) -> list[np.ndarray]:
    if kind == "letter":
        return deform(GLYPHS[rng.choice(LETTERS)], rng)
    if kind == "symbol":
        return deform(GLYPHS[rng.choice(SYMBOLS)], rng)
    if kind == "shape":
        return deform(SHAPES[rng.choice(list(SHAPES))], rng)
    if kind == "scribble":
        return scribble(rng)
    if kind == "number":
        return number(rng, digits)
    if kind == "word":
        return word(rng)
    if kind == MARKS:
        return deform(stray_marks(rng), rng)
    raise ValueError(f"kind must be one of {', '.join(KINDS + (MARKS,))}, not {kind!r}")


def not_digits(count: int, seed: int = 0, digits: np.ndarray | None = None,
               kinds: tuple[str, ...] = KINDS) -> np.ndarray:
    """`count` drawings that are not one digit, as uint8 (count, 28, 28) model inputs, kinds in turn.

    Numbers are made of `digits` (uint8 28x28 MNIST images, traced into strokes) when given,
    else of stroke templates of the ten digits (`styles.STYLES`); pass digits the model is not measured on.
    """
    if count < 0:
        raise ValueError(f"count must be at least 0, not {count}")
    rng = np.random.default_rng(seed)
    drawings = [draw(place(not_digit_strokes(kinds[n % len(kinds)], rng, digits), rng,
                           height_range=NOT_DIGIT_HEIGHTS), rng) for n in range(count)]
    return np.stack(drawings) if drawings else np.zeros((0, 28, 28), dtype=np.uint8)
