"""Digits typeset in handwriting fonts: other hands that neither MNIST's writers nor this project drew.

A handwriting font is one person's hand, cut into glyphs by a type designer. Its digits are
shapes no generator here made (`drawn` re-draws MNIST, `styles` holds forms written by hand for
this project), so reading them measures the model on writers outside MNIST. Each digit is set
black on a white canvas the size of the page's, at two sizes, somewhere near the middle and
slightly turned, and goes through the site's preprocessing like any drawing.

The same fonts' letters and symbols are non-digits in other hands: `font_not_digits` typesets
the characters the non-digit generator draws (`negatives.GLYPHS`, those in ASCII, which every
font has), to measure the "not a digit" answer on them, or, from other fonts, to train it.

No font ships with the project; any directory of font files will do (see the README for a set
of 32 handwriting fonts under the SIL Open Font License).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..preprocess import BlankDrawingError, to_mnist_input
from .negatives import LETTERS, SYMBOLS

FONT_SUFFIXES = (".ttf", ".otf", ".woff", ".woff2")
CANVAS = 280
# Glyph heights in pixels on the canvas: a digit written small and one filling most of it.
SIZES = (120, 200)
# Training sees more sizes of each character than evaluation.
TRAINING_SIZES = (80, 110, 140, 170, 200, 230)
NOT_DIGIT_CHARACTERS = tuple(LETTERS) + tuple(symbol for symbol in SYMBOLS if len(symbol) == 1 and symbol.isascii())
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
    images, characters = font_characters(fonts, "0123456789", SIZES, seed, skip_missing=False)
    return images, np.array([int(c) for c in characters], dtype=np.int64)


def font_not_digits(fonts: list[Path], sizes: tuple[int, ...] = SIZES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each of NOT_DIGIT_CHARACTERS in each font at each of `sizes`: (uint8 N x 28 x 28 model inputs, each
    one's character); a character a font draws blank (a handwriting font may lack a symbol) is left out."""
    images, characters = font_characters(fonts, NOT_DIGIT_CHARACTERS, sizes, seed, skip_missing=True)
    return images, np.array(characters)


def font_characters(fonts: list[Path], characters: Sequence[str], sizes: tuple[int, ...], seed: int,
                    skip_missing: bool) -> tuple[np.ndarray, list[str]]:
    """Each character in each font at each size, as uint8 model inputs, and the characters typeset.
    A font that cannot be read is a ValueError; so is one that draws a character blank, unless
    `skip_missing`."""
    rng = np.random.default_rng(seed)
    images, typeset_characters = [], []
    for path in fonts:
        for size in sizes:
            try:
                font = ImageFont.truetype(str(path), size)
            except OSError as exc:
                raise ValueError(f"cannot read the font {path}: {exc}") from None
            for character in characters:
                try:
                    images.append(typeset(character, font, rng, path))
                except ValueError:
                    if not skip_missing:
                        raise
                    continue
                typeset_characters.append(character)
    if not images:
        raise ValueError("no fonts to typeset the characters in")
    return np.stack(images), typeset_characters


def typeset(text: str, font: ImageFont.FreeTypeFont, rng: np.random.Generator, path: Path) -> np.ndarray:
    canvas = Image.new("L", (CANVAS, CANVAS), 255)
    x, y = CANVAS // 2 + rng.integers(-SHIFT, SHIFT + 1, 2)
    ImageDraw.Draw(canvas).text((int(x), int(y)), text, fill=0, font=font, anchor="mm")
    canvas = canvas.rotate(rng.uniform(-TILT, TILT), resample=Image.Resampling.BILINEAR, fillcolor=255)
    try:
        return np.round(to_mnist_input(canvas) * 255).astype(np.uint8)
    except BlankDrawingError:
        raise ValueError(f"the font {path} draws no {text}") from None
