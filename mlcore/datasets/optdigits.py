"""Digits of UCI's "Optical Recognition of Handwritten Digits" set: real writers outside MNIST.

43 people filled in NIST's forms; each digit's 32x32 bitmap was counted in 4x4 blocks into an
8x8 grid of values 0 to 16 (Alpaydin and Kaynak, 1998). The blocks keep the shape but lose the
detail a 28x28 MNIST digit has: a 4 closed at the top comes close to a 6, and a 9 whose loop
the counting filled, to a 3. Each digit is enlarged back to 32x32 and read through the site's
preprocessing like any drawing.

No copy ships with the project. The files are one digit a line, 64 counts and the label, comma
separated, plain or gzip-compressed: UCI's `optdigits.tes` (13 writers, 1,797 digits) and
`optdigits.tra` (30 other writers, 3,823), or scikit-learn's copy of the first,
`sklearn/datasets/data/digits.csv.gz` (see the README for where to get it).
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from ..preprocess import BlankDrawingError, to_mnist_input

GRID = 8
MAX_COUNT = 16
# The bitmaps the blocks were counted from.
BITMAP_SIDE = 32
# The largest file read: UCI's two files together hold 5,620 digits of about 170 bytes.
MAX_BYTES = 8 * 1024 * 1024


def read_optdigits(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """The (N, 8, 8) block counts and the labels of an optdigits file; a file that is not one is a
    ValueError naming it and, where it is one line's fault, the line."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read the optdigits file {path}: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.GzipFile(fileobj=io.BytesIO(raw)).read(MAX_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path} is not a readable gzip file: {exc}") from None
    if len(raw) > MAX_BYTES:
        raise ValueError(f"{path} is larger than an optdigits file ({MAX_BYTES:,} bytes)")
    rows = []
    for number, line in enumerate(raw.decode("ascii", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != GRID * GRID + 1:
            raise ValueError(f"{path}, line {number}: {len(fields)} values, not {GRID * GRID} counts and a label")
        try:
            values = [int(field) for field in fields]
        except ValueError:
            raise ValueError(f"{path}, line {number}: not all whole numbers") from None
        if not all(0 <= value <= MAX_COUNT for value in values[:-1]) or not 0 <= values[-1] <= 9:
            raise ValueError(f"{path}, line {number}: counts must be 0 to {MAX_COUNT} and the label 0 to 9")
        rows.append(values)
    if not rows:
        raise ValueError(f"{path} holds no digits")
    table = np.array(rows, dtype=np.int64)
    return table[:, :-1].reshape(-1, GRID, GRID), table[:, -1]


def optdigits(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """An optdigits file's digits as uint8 (N, 28, 28) model inputs, and their labels; a digit with no
    ink at all is a ValueError."""
    counts, labels = read_optdigits(path)
    images = []
    for index, grid in enumerate(counts):
        paper = (255 - grid * 255 // MAX_COUNT).astype(np.uint8)
        enlarged = Image.fromarray(paper).resize((BITMAP_SIDE, BITMAP_SIDE), Image.Resampling.BILINEAR)
        try:
            images.append(np.round(to_mnist_input(enlarged) * 255).astype(np.uint8))
        except BlankDrawingError:
            raise ValueError(f"{path}: digit {index + 1} has no ink") from None
    return np.stack(images), labels
