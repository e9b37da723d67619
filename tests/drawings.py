"""Drawings made from MNIST test digits, the way a person's canvas might look."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter


@dataclass(frozen=True)
class Style:
    canvas: int = 280          # side of the square canvas, pixels
    digit_size: int = 200      # height of the digit's 28x28 frame on the canvas
    offset: tuple[int, int] = (0, 0)  # shift of the digit from the canvas centre
    stroke: int = 0            # > 0 thickens the strokes, < 0 thins them, in quarters of an MNIST pixel
    ink: str = "dark"          # "dark" on white paper, "light" on black paper, "alpha" on transparency


def render(digit: np.ndarray, style: Style = Style()) -> Image.Image:
    """A 28x28 uint8 MNIST digit drawn on a canvas of the given style."""
    glyph = Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC)
    if style.stroke:
        size = 2 * abs(style.stroke) + 1
        glyph = glyph.filter(ImageFilter.MaxFilter(size) if style.stroke > 0 else ImageFilter.MinFilter(size))
    glyph = glyph.resize((style.digit_size, style.digit_size), Image.Resampling.BICUBIC)
    ink = Image.new("L", (style.canvas, style.canvas), 0)
    corner = ((style.canvas - style.digit_size) // 2 + style.offset[0],
              (style.canvas - style.digit_size) // 2 + style.offset[1])
    ink.paste(glyph, corner)
    if style.ink == "light":
        return ink.convert("RGB")
    if style.ink == "alpha":
        image = Image.new("RGBA", ink.size, (30, 30, 200, 0))
        image.putalpha(ink)
        return image
    return Image.eval(ink, lambda v: 255 - v).convert("RGB")


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def png(digit: np.ndarray, style: Style = Style()) -> bytes:
    return encode(render(digit, style))


def scanned(digit: np.ndarray, side: int) -> Image.Image:
    """A 28x28 uint8 MNIST digit as a black-and-white scan: its ink fitted into side x side pixels
    keeping its aspect, then each pixel thresholded to black or white, as a scanner set to black
    and white makes it."""
    rows, cols = np.flatnonzero(digit.max(axis=1) > 30), np.flatnonzero(digit.max(axis=0) > 30)
    glyph = Image.fromarray(digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    scale = side / max(glyph.size)
    glyph = glyph.resize((glyph.width * 8, glyph.height * 8), Image.Resampling.BICUBIC).resize(
        (max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale))), Image.Resampling.BOX)
    page = Image.new("L", (side, side), 0)
    page.paste(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    return Image.fromarray(np.where(np.asarray(page) > 128, 0, 255).astype(np.uint8))
