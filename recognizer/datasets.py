"""Reviewed drawings as dataset files: what the model saw (the 28x28 input) and what it should have said.

The .npz file is a NumPy archive, readable without pickle:
  images  uint8 (N, 28, 28)  the normalised inputs, bright ink on black like MNIST
  labels  int64 (N,)         the reviewers' true labels: 0-9, or 10 (mlcore.labels.NOT_A_DIGIT) for a
                             drawing confirmed not to be one digit, a negative example for training
  ids     str (N,)           the predictions they came from, to trace a sample back

The .ndjson file holds the strokes of the reviewed drawings that have them, one JSON object a line in the
style of Quick, Draw!: {"key_id": prediction id, "word": the true label ("7", or "not a digit"),
"recognized": whether the model's answer was right, "drawing": [[xs], [ys], [ts]] per stroke}, with x and
y fractions of the canvas side and t milliseconds since the drawing's first point.
"""

from __future__ import annotations

import io
import os
import json
from typing import BinaryIO, Iterator

import numpy as np

from mlcore.files import UNREADABLE_NPZ, write_atomically
from mlcore.labels import NOT_A_DIGIT, label_name
from mlcore.mnist import Split

from .models import PredictionQuerySet


class DatasetError(ValueError):
    """A dataset file is not an export of reviewed drawings; the message says what is wrong."""


def reviewed_dataset(queryset: PredictionQuerySet) -> tuple[Split, list[str]]:
    """The reviewed rows of queryset, oldest first, and their ids; rows without a true label are left out."""
    rows = queryset.reviewed().order_by("created_at", "id").values_list("id", "mnist_input", "true_label")
    # The inputs gathered as one run of bytes, not an array each then stacked: at 300,000 drawings the
    # export's memory was 2.1 KB a drawing.
    ids, pixels, labels = [], bytearray(), []
    for prediction_id, mnist_input, true_label in rows.iterator():
        ids.append(str(prediction_id))
        pixels += mnist_input
        labels.append(true_label)
    return Split(np.frombuffer(pixels, dtype=np.uint8).reshape(-1, 28, 28), np.array(labels, dtype=np.int64)), ids


def to_npz(split: Split, ids: list[str]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=split.images, labels=split.labels, ids=np.array(ids, dtype=str))
    return buffer.getvalue()


def export_reviewed(queryset: PredictionQuerySet, path: str | os.PathLike) -> int:
    """Write the reviewed rows of queryset to an .npz file; returns how many were written."""
    split, ids = reviewed_dataset(queryset)
    write_atomically(path, to_npz(split, ids))
    return len(ids)


def quickdraw_lines(queryset: PredictionQuerySet) -> Iterator[str]:
    """One Quick, Draw! style line (with its newline) per reviewed drawing of queryset that has strokes."""
    rows = (queryset.reviewed().filter(strokes__isnull=False).order_by("created_at", "id")
            .values_list("id", "true_label", "answered_label", "strokes"))
    # A few hundred rows at a time: a drawing's strokes, parsed, take up to a megabyte.
    for prediction_id, true_label, answer, strokes in rows.iterator(chunk_size=200):
        drawing = [[[round(point[i], 4) if i < 2 else round(point[i]) for point in stroke["points"]]
                    for i in range(3)] for stroke in strokes]
        yield json.dumps({"key_id": str(prediction_id), "word": label_name(true_label),
                          "recognized": answer == true_label, "drawing": drawing}) + "\n"


def export_strokes(queryset: PredictionQuerySet, path: str | os.PathLike) -> int:
    """Write the strokes of the reviewed rows of queryset as newline-delimited JSON, a line at a time (held
    whole, 300,000 drawings' took 1.3 GB); returns how many."""
    written = 0

    def lines():
        nonlocal written
        for line in quickdraw_lines(queryset):
            written += 1
            yield line.encode()

    write_atomically(path, lines())
    return written


def load_reviewed(source: str | os.PathLike | BinaryIO) -> Split:
    """Read an export back, checking every array, for training."""
    name = source if isinstance(source, (str, os.PathLike)) else "the dataset file"
    try:
        with np.load(source, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in ("images", "labels") if key in archive.files}
    except FileNotFoundError:
        raise DatasetError(f"{name} does not exist; write one with `manage.py export_reviewed --out PATH`") from None
    except UNREADABLE_NPZ as exc:
        raise DatasetError(f"{name} is not a readable .npz file ({exc})") from None
    missing = {"images", "labels"} - arrays.keys()
    if missing:
        raise DatasetError(f"{name} lacks the array(s) {', '.join(sorted(missing))}")
    images, labels = arrays["images"], arrays["labels"]
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetError(f"{name}: images must be uint8 (N, 28, 28), not {images.dtype} {images.shape}")
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(f"{name}: labels must be {len(images)} integers, not {labels.dtype} {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() > NOT_A_DIGIT):
        raise DatasetError(f"{name}: labels must be digits 0-9 or {NOT_A_DIGIT} (not a digit), "
                           f"found {labels.min()} to {labels.max()}")
    return Split(images, labels.astype(np.int64))
