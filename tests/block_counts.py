"""Optdigits files made from MNIST digits the way UCI made theirs from NIST's forms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from mlcore.datasets.optdigits import GRID
from mlcore.mnist import Split


def block_counts(digit: np.ndarray) -> np.ndarray:
    """UCI's recipe on an MNIST digit: its ink's box scaled to fill a 32x32 bitmap, thresholded,
    and the set pixels of each 4x4 block counted."""
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    ink = Image.fromarray(digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    scale = 32 / max(ink.size)
    ink = ink.resize((max(1, round(ink.width * scale)), max(1, round(ink.height * scale))), Image.Resampling.BILINEAR)
    bitmap = Image.new("L", (32, 32))
    bitmap.paste(ink, ((32 - ink.width) // 2, (32 - ink.height) // 2))
    on = np.asarray(bitmap) > 127
    return on.reshape(GRID, 4, GRID, 4).sum(axis=(1, 3))


def optdigits_lines(counts: np.ndarray, labels: np.ndarray) -> str:
    return "".join(",".join(map(str, [*grid.ravel(), label])) + "\n" for grid, label in zip(counts, labels))


def write_optdigits(path: Path, split: Split) -> Path:
    path.write_text(optdigits_lines(np.stack([block_counts(digit) for digit in split.images]), split.labels))
    return path
