"""Digits typeset in handwriting fonts: other hands that neither MNIST's writers nor this project drew.

A handwriting font is one person's hand, cut into glyphs by a type designer. Its digits are
shapes no generator here made (`drawn` re-draws MNIST, `styles` holds forms written by hand for
this project), so reading them measures the model on writers outside MNIST. Each digit is set
black on a white canvas the size of the page's, at two sizes, somewhere near the middle and
slightly turned, and goes through the site's preprocessing like any drawing.

No font ships with the project; any directory of font files will do (see the README for a set
of 32 handwriting fonts under the SIL Open Font License).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .preprocess import BlankDrawingError, to_mnist_input

FONT_SUFFIXES = (".ttf", ".otf", ".woff", ".woff2")
CANVAS = 280
# Glyph heights in pixels on the canvas: a digit written small and one filling most of it.
SIZES = (120, 200)
# How far from the middle a digit is set, in pixels, and how far it is turned, in degrees.
SHIFT = 40
TILT = 8


def font_files(directory: str | os.PathLike) -> list[Path]:
    """The font files under `directory`, in a stable order; none is a ValueError."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory")
    fonts = sorted(path for path in directory.rglob("*") if path.suffix.lower() in FONT_SUFFIXES and path.is_file())
    if not fonts:
        raise ValueError(f"no font files ({', '.join(FONT_SUFFIXES)}) under {directory}")
    return fonts


def font_digits(fonts: list[Path], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each digit in each font at each of SIZES: (uint8 N x 28 x 28 model inputs, their labels).

    A font that cannot be read, or that has no visible digit, is a ValueError naming it.
    """
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for path in fonts:
        for size in SIZES:
            try:
                font = ImageFont.truetype(str(path), size)
            except OSError as exc:
                raise ValueError(f"cannot read the font {path}: {exc}") from None
            for digit in range(10):
                images.append(typeset(str(digit), font, rng, path))
                labels.append(digit)
    if not images:
        raise ValueError("no fonts to typeset the digits in")
    return np.stack(images), np.array(labels, dtype=np.int64)


def typeset(text: str, font: ImageFont.FreeTypeFont, rng: np.random.Generator, path: Path) -> np.ndarray:
    canvas = Image.new("L", (CANVAS, CANVAS), 255)
    x, y = CANVAS // 2 + rng.integers(-SHIFT, SHIFT + 1, 2)
    ImageDraw.Draw(canvas).text((int(x), int(y)), text, fill=0, font=font, anchor="mm")
    canvas = canvas.rotate(rng.uniform(-TILT, TILT), resample=Image.Resampling.BILINEAR, fillcolor=255)
    try:
        return np.round(to_mnist_input(canvas) * 255).astype(np.uint8)
    except BlankDrawingError:
        raise ValueError(f"the font {path} draws no {text}") from None
