"""The training set of the served model, its held-out slice, and calibration on that slice.

The last HELD_OUT images of the MNIST training set are never trained on: they, their canvas
re-drawings, digits in other writing styles and generated non-digits made from them are where
the temperature, the not-a-digit threshold and the lever study are measured. The MNIST test set
is only reported.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..calibrate import (choose_threshold, digit_log_probabilities, expected_calibration_error, fit_temperature,
                         negative_log_likelihood, not_a_digit_probability)
from ..datasets.drawn import drawn_digits
from ..datasets.fonts import NOT_DIGIT_CHARACTERS, TRAINING_SIZES, font_not_digits
from ..datasets.negatives import MARKS, not_digits
from ..datasets.styles import styled_digits
from ..evaluate import answered_accuracy
from ..files import UNREADABLE_NPZ, write_atomically
from ..labels import NOT_A_DIGIT
from ..mnist import Split
from ..predict import logits_of
from ..predict import Predictor
from .train import TrainConfig, TrainResult, train

HELD_OUT = 5000
# Held-out drawings and non-digits generated from the held-out slice: all of it re-drawn. The
# threshold keeps a few tenths of a percent of re-drawn digits under it; on 1,000 that was three
# drawings, and the threshold moved by 0.09 between two models that 5,000 found level.
HELD_OUT_DRAWINGS = HELD_OUT
# Seeds of the generated sets: the training extras and the held-out sets never share drawings.
TRAIN_SEED, HELD_OUT_SEED = 11, 12
# The modules whose code draws the generated sets.
GENERATORS = ("mlcore.datasets.drawn", "mlcore.datasets.hand", "mlcore.datasets.negatives", "mlcore.preprocess",
              "mlcore.render", "mlcore.datasets.styles")
TYPESETTER = "mlcore.datasets.fonts"


@dataclass(frozen=True)
class Extras:
    """What a training adds to the MNIST digits: `drawn` of them re-drawn as canvas strokes, `styled` digits in
    other writing styles, `negatives` generated non-digits, `marks` drawings of stray strokes (non-digits too) and
    the non-digit characters of `fonts`, re-drawn; drawn once and kept in `cache_dir`."""
    drawn: int = 0
    styled: int = 0
    negatives: int = 0
    marks: int = 0
    fonts: tuple[Path, ...] = ()
    cache_dir: Path | None = None

    @property
    def count(self) -> int:
        """How many, less the fonts' letters: a font may lack a character, so they are counted once drawn."""
        return self.drawn + self.styled + self.negatives + self.marks


@dataclass(frozen=True)
class Step:
    """One step of a recipe, as TrainConfig fields: how long, how fast, which augmentations besides the affine
    warps, and on how much of MNIST (None: all of it)."""
    epochs: int
    lr: float
    elastic: bool = False
    stroke_width: bool = False
    train_limit: int | None = None


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: steps, each fine-tuning the last, on MNIST and the same extras."""
    batch_size: int
    extras: Extras
    steps: tuple[Step, ...]


# The served models' (v4_2 and v4x2's members'), with the letters of the 20 fonts of fonts-train: a long first step
# with every augmentation, then three epochs at a gentle rate, then three more on fewer MNIST images, so that
# non-digits weigh more (README "Training the served model").
SERVED_RECIPE = Recipe(
    batch_size=64,
    extras=Extras(drawn=20000, styled=10000, negatives=30000),
    steps=(Step(epochs=10, lr=0.15, elastic=True, stroke_width=True),
           Step(epochs=3, lr=0.02),
           Step(epochs=3, lr=0.02, train_limit=40000)))


@dataclass(frozen=True)
class HeldOut:
    mnist: Split          # MNIST training digits the model never saw
    drawn: Split          # the same digits re-drawn as canvas strokes
    styled: Split         # digits in other hands' styles (`styles.STYLES`), drawn with their own seed
    negatives: np.ndarray  # generated non-digits, numbers made of these digits


def split_off(train_split: Split) -> tuple[Split, Split]:
    """(images to train on, the held-out slice)."""
    cut = len(train_split.labels) - HELD_OUT
    return (Split(train_split.images[:cut], train_split.labels[:cut]),
            Split(train_split.images[cut:], train_split.labels[cut:]))


def source_of(module: str) -> bytes:
    return Path(importlib.import_module(module).__file__).read_bytes()


def generators_fingerprint() -> str:
    """A short hash of the code that draws generated sets: a changed generator never reads an old cache."""
    digest = hashlib.sha256()
    for module in GENERATORS:
        digest.update(source_of(module))
    return digest.hexdigest()[:10]


def fonts_fingerprint(fonts: list[Path]) -> str:
    """A short hash of the font files, in order, and the code that typesets them: which letters a cache holds."""
    digest = hashlib.sha256(source_of(TYPESETTER))
    for font in fonts:
        digest.update(Path(font).name.encode() + b"\0" + Path(font).read_bytes())
    return digest.hexdigest()[:10]


def _cached(cache_dir: Path | None, kind: str, count: int, seed: int, make) -> dict[str, np.ndarray]:
    """Generated arrays are slow to draw (about 10-20 ms each), so they are kept in cache_dir.

    The generators draw item after item from one seeded stream, so the first `count` of a
    larger cached set are exactly what a smaller run would draw: any larger file serves.
    """
    prefix = f"{kind}-{generators_fingerprint()}"
    if cache_dir is not None:
        archives = [(path.stem.split("-")[-2], path) for path in Path(cache_dir).glob(f"{prefix}-*-{seed}.npz")]
        for size, path in sorted((int(size), path) for size, path in archives if size.isdigit()):
            if size < count:
                continue
            try:
                with np.load(path, allow_pickle=False) as archive:
                    return {key: archive[key][:count] for key in archive.files}
            except UNREADABLE_NPZ:
                # Written whole or not at all, so a file that cannot be read was damaged since: drawn again.
                path.unlink(missing_ok=True)
    arrays = make()
    if cache_dir is not None:
        # Written whole or not at all: another training run (or test worker) may be reading the directory.
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        write_atomically(Path(cache_dir) / f"{prefix}-{count}-{seed}.npz", buffer.getvalue())
    return arrays


def draw_extras(fit: Split, extras: Extras) -> Split:
    """The extras as a Split: the canvas re-drawings are of the first `extras.drawn` digits of `fit`, the generated
    non-digits made of its digits."""
    def make_drawn():
        images, labels = drawn_digits(fit.images[:extras.drawn], fit.labels[:extras.drawn], seed=TRAIN_SEED)
        return {"images": images, "labels": labels}

    def make_negatives():
        return {"images": not_digits(extras.negatives, seed=TRAIN_SEED, digits=fit.images)}

    def make_marks():
        return {"images": not_digits(extras.marks, seed=TRAIN_SEED, kinds=(MARKS,))}

    def make_fonts():
        # Traced and drawn again with the page's pen, as a person writes a letter on the canvas: a font's
        # thick-and-thin strokes are unlike anything drawn on the page.
        typeset, _ = font_not_digits(extras.fonts, TRAINING_SIZES, seed=TRAIN_SEED)
        letters, labels = drawn_digits(typeset, np.full(len(typeset), NOT_A_DIGIT), seed=TRAIN_SEED)
        return {"images": letters, "labels": labels}

    def make_styled():
        images, labels = styled_digits(extras.styled, seed=TRAIN_SEED)
        return {"images": images, "labels": labels}

    cache_dir = extras.cache_dir
    parts = []
    if extras.drawn:
        parts.append(_cached(cache_dir, "drawn-train", extras.drawn, TRAIN_SEED, make_drawn))
    if extras.styled:
        parts.append(_cached(cache_dir, "styled-train", extras.styled, TRAIN_SEED, make_styled))
    if extras.negatives:
        made = _cached(cache_dir, "negatives-train", extras.negatives, TRAIN_SEED, make_negatives)
        parts.append({"images": made["images"], "labels": np.full(extras.negatives, NOT_A_DIGIT, dtype=np.int64)})
    if extras.marks:
        made = _cached(cache_dir, "marks-train", extras.marks, TRAIN_SEED, make_marks)
        parts.append({"images": made["images"], "labels": np.full(extras.marks, NOT_A_DIGIT, dtype=np.int64)})
    if extras.fonts:
        # The fingerprint names the fonts; the count is the most they can make, a font may lack a character.
        most = len(extras.fonts) * len(NOT_DIGIT_CHARACTERS) * len(TRAINING_SIZES)
        parts.append(_cached(cache_dir, f"fonts-train-{fonts_fingerprint(extras.fonts)}", most, TRAIN_SEED,
                             make_fonts))
    if not parts:
        return Split(np.zeros((0, 28, 28), dtype=np.uint8), np.zeros(0, dtype=np.int64))
    return Split(np.concatenate([p["images"] for p in parts]), np.concatenate([p["labels"] for p in parts]))


def held_out_sets(held: Split, count: int | None = None, cache_dir: str | os.PathLike | None = None) -> HeldOut:
    """`count` drawings of each kind (re-drawn, styled, non-digits); None: all HELD_OUT_DRAWINGS."""
    count = count or HELD_OUT_DRAWINGS

    def make():
        images, labels = drawn_digits(held.images[:count], held.labels[:count], seed=HELD_OUT_SEED)
        styled, styled_labels = styled_digits(count, seed=HELD_OUT_SEED)
        return {"drawn": images, "drawn_labels": labels, "styled": styled, "styled_labels": styled_labels,
                "negatives": not_digits(count, seed=HELD_OUT_SEED, digits=held.images)}

    made = _cached(cache_dir, "held-out", count, HELD_OUT_SEED, make)
    return HeldOut(held, Split(made["drawn"], made["drawn_labels"]), Split(made["styled"], made["styled_labels"]),
                   made["negatives"])


def mix_in(fit: Split, extra: Split, limit: int | None, seed: int) -> Split:
    """The first `limit` training digits with the extras, shuffled together once."""
    base = fit.head(limit)
    images = np.concatenate([base.images, extra.images])
    labels = np.concatenate([base.labels, extra.labels])
    order = np.random.default_rng(seed).permutation(len(labels))
    return Split(images[order], labels[order])


def mix(base: Split, extra: Split, extra_weight: float) -> tuple[Split, np.ndarray]:
    """base followed by extra, and per-image sample weights: 1 for base, extra_weight for extra."""
    if extra_weight <= 0:
        raise ValueError(f"the weight of the reviewed drawings must be positive, not {extra_weight}")
    images = np.concatenate([base.images, extra.images])
    labels = np.concatenate([base.labels, extra.labels.astype(np.int64)])
    weights = np.concatenate([np.ones(len(base.labels), dtype=np.float32),
                              np.full(len(extra.labels), extra_weight, dtype=np.float32)])
    return Split(images, labels), weights


def calibrate(model: torch.nn.Module, held_out: HeldOut) -> dict:
    """Fit the temperature on held-out MNIST digits, and the threshold on held-out real, drawn and styled digits:
    the lowest that keeps each of the three within the false-null budget."""
    logits = logits_of(model, held_out.mnist.images)
    labels = torch.from_numpy(held_out.mnist.labels)
    temperature = fit_temperature(logits, labels)
    # Each kind of digit keeps within the false-null budget on its own: pooled, the many MNIST
    # digits would hide a kind the model finds stranger (canvas re-drawings).
    per_set = [not_a_digit_probability(set_logits, temperature).numpy() for set_logits in
               (logits, logits_of(model, held_out.drawn.images), logits_of(model, held_out.styled.images))]
    threshold = max(choose_threshold(scores) for scores in per_set)
    digit_scores = np.concatenate(per_set)
    negative_scores = not_a_digit_probability(logits_of(model, held_out.negatives), temperature).numpy()
    probabilities = digit_log_probabilities(logits, temperature).exp()
    confidences, predicted = probabilities.max(dim=1)
    return {
        "temperature": temperature,
        "not_a_digit_threshold": threshold,
        "held_out_images": len(labels),
        "held_out_nll_before": negative_log_likelihood(logits, labels),
        "held_out_nll_after": negative_log_likelihood(logits, labels, temperature),
        "held_out_ece": expected_calibration_error(confidences.numpy(), (predicted == labels).numpy()),
        "held_out_digits_null": float((digit_scores >= threshold).mean()),
        **{f"held_out_{name}_null": float((scores >= threshold).mean())
           for name, scores in zip(("mnist", "drawn", "styled"), per_set)},
        "held_out_negatives_null": float((negative_scores >= threshold).mean()),
    }


def add_calibration(result: TrainResult, held_out: HeldOut, test_split: Split) -> None:
    """Calibrate on the held-out sets, then record the share of the test split the calibrated model answers
    right (`answered_accuracy`) beside the card's `test_accuracy` (`evaluate_split`)."""
    result.metadata["calibration"] = calibrate(result.model, held_out)
    result.metadata["answered_test_accuracy"] = answered_accuracy(Predictor(result.model, result.metadata), test_split)


def train_with_extras(config: TrainConfig, train_split: Split, test_split: Split, extras: Extras, *,
                      reviewed: Split | None = None, reviewed_weight: float = 1.0, initial_state: dict | None = None,
                      teacher: torch.nn.Module | None = None, calibration_drawings: int | None = None,
                      progress: bool = True, log=print) -> TrainResult:
    """Train on MNIST less the held-out slice, plus the extras and the `reviewed` drawings, each of which counts
    `reviewed_weight` MNIST images; calibrate on the slice.

    config.train_limit limits the MNIST images; the extras and the reviewed drawings are added to them.
    """
    fit, held = split_off(train_split)
    if extras.count:
        log(f"drawing {extras.drawn:,} canvas re-drawings, {extras.styled:,} styled digits, {extras.negatives:,} "
            f"non-digits and {extras.marks:,} stray marks (cached in {extras.cache_dir})")
    if extras.fonts:
        log(f"re-drawing the letters and symbols of {len(extras.fonts)} fonts")
    extra = draw_extras(fit, extras)
    mixed, weights = mix_in(fit, extra, config.train_limit, config.seed), None
    if reviewed is not None:
        # After the limit, which applies to MNIST alone: train() would otherwise cut off the reviewed drawings.
        mixed, weights = mix(mixed, reviewed, reviewed_weight)
    result = train(replace(config, train_limit=None), mixed, test_split, sample_weights=weights,
                   initial_state=initial_state, teacher=teacher, progress=progress, log=log)
    calibrate_and_record(result, config, test_split, fit, extra, held, extras,
                         calibration_drawings=calibration_drawings)
    return result


def calibrate_and_record(result: TrainResult, config: TrainConfig, test_split: Split, fit: Split, extra: Split,
                         held: Split, extras: Extras, *, calibration_drawings: int | None) -> None:
    """Calibrate a trained model on the held-out slice and the drawings made from it, and write on its card what
    it learnt from besides MNIST: a retraining gives the active model the sets its card names, and `evaluate
    --fonts` leaves out the fonts it names."""
    held_out = held_out_sets(held, calibration_drawings, cache_dir=extras.cache_dir)
    add_calibration(result, held_out, test_split)
    result.metadata["training_set"] = {
        "mnist_images": len(fit.head(config.train_limit).labels), "canvas_redrawings": extras.drawn,
        "styled_digits": extras.styled, "not_digits": extras.negatives, "stray_marks": extras.marks,
        "font_not_digits": int((extra.labels == NOT_A_DIGIT).sum()) - extras.negatives - extras.marks,
        "extra_images": len(extra.labels),
        "fonts": [Path(font).name for font in extras.fonts], "held_out_mnist_images": len(held.labels),
        "held_out_drawings": len(held_out.drawn.labels), "held_out_styled_digits": len(held_out.styled.labels),
        "held_out_not_digits": len(held_out.negatives)}
    result.metadata["hyperparameters"]["train_limit"] = config.train_limit
