"""Metrics, confusion matrix, misclassified gallery and latency, and the report files."""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .calibrate import ECE_BINS, expected_calibration_error, reliability
from .datasets.drawn import drawn_digits
from .datasets.fonts import font_digits, font_not_digits
from .datasets.negatives import not_digits
from .datasets.optdigits import optdigits
from .datasets.styles import styled_digits
from .datasets.unseen import unseen_not_digits
from .files import write_atomically
from .labels import NOT_A_DIGIT
from .mnist import Split
from .predict import logits_of
from .predict import Predictor


# The sets that measure a model (`manage.py evaluate`, the release gate) are drawn from the MNIST test set and
# the generators with seeds of their own, apart from those it is trained and calibrated on (recipe.TRAIN_SEED,
# HELD_OUT_SEED): never tuned on, and the same sets wherever a figure of them is given.
DRAWN_SEED, NOT_DIGITS_SEED, STYLED_SEED, FONTS_SEED, UNSEEN_SEED = 100, 101, 102, 103, 104


def drawn_set(test: Split, count: int) -> Split:
    """The first `count` test digits re-drawn as canvas strokes."""
    head = test.head(count)
    return Split(*drawn_digits(head.images, head.labels, seed=DRAWN_SEED))


def styled_set(count: int) -> Split:
    """`count` digits in other writing styles."""
    return Split(*styled_digits(count, seed=STYLED_SEED))


def non_digit_set(test: Split, count: int) -> Split:
    """`count` generated drawings that are not one digit, some made from the test digits, labelled NOT_A_DIGIT."""
    images = not_digits(count, seed=NOT_DIGITS_SEED, digits=test.images)
    return Split(images, np.full(len(images), NOT_A_DIGIT, dtype=np.int64))


def unseen_set(per_kind: int) -> tuple[np.ndarray, np.ndarray]:
    """`per_kind` drawings of each kind of non-digit the generator never draws, and each one's kind."""
    return unseen_not_digits(per_kind, seed=UNSEEN_SEED)


def font_digit_set(fonts: list[Path]) -> Split:
    """Each digit typeset in each font file."""
    return Split(*font_digits(fonts, seed=FONTS_SEED))


def font_non_digit_set(fonts: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """The non-digits' letters and symbols typeset in each font file, and each one's character."""
    return font_not_digits(fonts, seed=FONTS_SEED)


def optdigits_set(path: str | os.PathLike) -> Split:
    """The digits of an optdigits file: UCI's writers, sent as 8x8 block counts."""
    return Split(*optdigits(path))


def evaluate_split(model: torch.nn.Module, split: Split) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the model on a split, reading the likeliest of all its outputs ("not a
    digit" included) before calibration: the `test_loss` and `test_accuracy` of a checkpoint's card. What the
    site answers is `answered_accuracy` (the card's `answered_test_accuracy`)."""
    logits = logits_of(model, split.images)
    labels = torch.from_numpy(split.labels)
    return F.cross_entropy(logits, labels).item(), (logits.argmax(1) == labels).float().mean().item()


@dataclass(frozen=True)
class Scores:
    """What a model answers, a digit or "not a digit", against the true labels."""

    accuracy: float            # share answered right: a non-digit is right answered "not a digit", a digit wrong
    ece: float                 # the ECE over the answers: of the confidence in each answer, "not a digit" included
    not_a_digit_rate: float    # share answered "not a digit"

    def as_dict(self) -> dict:
        return {"accuracy": self.accuracy, "ece": self.ece, "not_a_digit_rate": self.not_a_digit_rate}


def answered_scores(answers: np.ndarray, confidences: np.ndarray, labels: np.ndarray) -> Scores:
    """The answers (labels, `NOT_A_DIGIT` included, and confidences, as `Predictor.answers` gives them) scored
    against the true `labels`, where `NOT_A_DIGIT` marks a drawing that is no digit; all 0 for no images."""
    if not len(labels):
        return Scores(accuracy=0.0, ece=0.0, not_a_digit_rate=0.0)
    correct = answers == labels
    return Scores(accuracy=float(correct.mean()), ece=expected_calibration_error(confidences, correct),
                  not_a_digit_rate=float((answers == NOT_A_DIGIT).mean()))


def answered_accuracy(predictor: Predictor, split: Split) -> float | None:
    """The share of the split the predictor answers right (`answered_scores`); None for an empty split."""
    if not len(split.labels):
        return None
    return answered_scores(*predictor.answers(split.images), split.labels).accuracy


@dataclass(frozen=True)
class Evaluation:
    """A predictor on a split read two ways: the likeliest of the ten digits' outputs, over the split's digits
    (`digit_accuracy`, `digit_ece`, the confusion matrix and the per-digit figures), and what the site answers,
    "not a digit" included, over every image (`answered`)."""

    digit_accuracy: float
    loss: float
    precision: np.ndarray      # (10,) per digit; 0 for a digit never predicted
    recall: np.ndarray         # (10,) per digit; 0 for a digit absent from the split
    confusion: np.ndarray      # (10, 10) int64: row = true digit, column = predicted digit
    labels: np.ndarray         # (N,) true labels, NOT_A_DIGIT for a drawing that is no digit
    predictions: np.ndarray    # (N,) predicted digits
    confidences: np.ndarray    # (N,) calibrated probability of the predicted digit, over the ten digits
    misclassified: np.ndarray  # indices into the split of the digits predicted wrongly
    answered: Scores

    def digit_readings(self) -> tuple[np.ndarray, np.ndarray]:
        """Over the split's digits: the confidence in the predicted digit, and whether it is right."""
        digits = self.labels != NOT_A_DIGIT
        return self.confidences[digits], self.predictions[digits] == self.labels[digits]

    @property
    def digit_ece(self) -> float:
        """The ECE over the digits: of the confidence in the likeliest digit, "not a digit" aside."""
        return expected_calibration_error(*self.digit_readings())

    def weakest(self, count: int = 3) -> list[dict]:
        order = np.argsort(self.recall, kind="stable")[:count]
        return [{"digit": int(d), "recall": float(self.recall[d])} for d in order]

    def per_digit(self) -> list[dict]:
        support = self.confusion.sum(axis=1)
        return [{"digit": d, "precision": float(self.precision[d]), "recall": float(self.recall[d]),
                 "support": int(support[d])} for d in range(10)]


def evaluate(predictor: Predictor, split: Split) -> Evaluation:
    """Which digit the predictor reads in each image (the ten digits' outputs, at its calibrated temperature),
    and what it answers, "not a digit" included, as the site does."""
    digits, not_a_digit = predictor.scores(split.images)
    probabilities = torch.from_numpy(digits)
    confidences, predictions = probabilities.max(dim=1)
    predictions = predictions.numpy()
    true = split.labels
    of_digits = true != NOT_A_DIGIT
    confusion = np.bincount(true[of_digits] * 10 + predictions[of_digits], minlength=100).reshape(10, 10)
    confusion = confusion.astype(np.int64)
    correct = np.diag(confusion).astype(np.float64)
    predicted_counts = confusion.sum(axis=0)
    true_counts = confusion.sum(axis=1)
    _, answers, answer_confidences = predictor.decide(digits, not_a_digit)
    return Evaluation(
        digit_accuracy=float(correct.sum() / of_digits.sum()),
        loss=F.nll_loss(probabilities[of_digits].log(), torch.from_numpy(true[of_digits])).item(),
        precision=np.divide(correct, predicted_counts, out=np.zeros(10), where=predicted_counts > 0),
        recall=np.divide(correct, true_counts, out=np.zeros(10), where=true_counts > 0),
        confusion=confusion,
        labels=true,
        predictions=predictions,
        confidences=confidences.numpy().astype(np.float64),
        misclassified=np.flatnonzero((predictions != true) & of_digits),
        answered=answered_scores(answers, answer_confidences, true),
    )


def not_a_digit_rate(predictor: Predictor, images: np.ndarray) -> float:
    """Share of the images answered "not a digit"."""
    return float(predictor.is_not_a_digit(predictor.scores(images)[1]).mean())


def save_reliability_diagram(evaluations: dict[str, Evaluation], path: str | os.PathLike) -> Path:
    """Accuracy against confidence in 15 equal-width bins, one line per set, with each set's ECE."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6, 6))
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    for name, evaluation in evaluations.items():
        rows = [r for r in reliability(*evaluation.digit_readings()) if r["count"]]
        axes.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows], marker="o",
                  label=f"{name} (ECE over the digits {evaluation.digit_ece:.2%})")
    axes.set(title=f"Reliability ({ECE_BINS} equal-width bins)", xlabel="confidence (calibrated)",
             ylabel="accuracy", xlim=(0, 1), ylim=(0, 1.02))
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left")
    return save_figure(figure, Path(path))


@dataclass(frozen=True)
class Latency:
    median_ms: float         # one image per call, as the site serves a drawing
    p95_ms: float
    repeats: int
    throughput: float        # images per second in batches of batch_size
    batch_size: int
    threads: int

    def as_dict(self) -> dict:
        return {"single_image_median_ms": self.median_ms, "single_image_p95_ms": self.p95_ms,
                "repeats": self.repeats, "batch_throughput_per_s": self.throughput,
                "batch_size": self.batch_size, "threads": self.threads}


@torch.inference_mode()
def measure_latency(predictor: Predictor, images: np.ndarray, repeats: int = 200,
                    batch_size: int = 1000, batch_repeats: int = 3, warmup: int = 10,
                    threads: int | None = None) -> Latency:
    """Time single-image inference and batch throughput as the site runs them, on `threads` torch
    threads (the process's own count where None; restored afterwards)."""
    if repeats < 1 or batch_repeats < 1 or batch_size < 1:
        raise ValueError("repeats, batch_repeats and batch_size must be at least 1")
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        singles = [images[i % len(images)][np.newaxis] for i in range(repeats)]
        for x in singles[:warmup]:
            predictor.probabilities(x)
        timings = []
        for x in singles:
            started = time.perf_counter()
            predictor.probabilities(x)
            timings.append(time.perf_counter() - started)

        batch = images[:batch_size]
        predictor.probabilities(batch)
        started = time.perf_counter()
        for _ in range(batch_repeats):
            predictor.probabilities(batch)
        elapsed = time.perf_counter() - started
        used = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    milliseconds = np.array(timings) * 1000
    return Latency(median_ms=float(np.median(milliseconds)), p95_ms=float(np.percentile(milliseconds, 95)),
                   repeats=repeats, throughput=len(batch) * batch_repeats / elapsed, batch_size=len(batch),
                   threads=used)


def pyplot():
    """matplotlib, on the file-only Agg backend, imported on first use: importing mlcore stays cheap."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    pyplot().close(figure)
    return write_atomically(path, buffer.getvalue())


def save_confusion_matrix(evaluation: Evaluation, path: str | os.PathLike, title: str = "Confusion matrix") -> Path:
    plt = pyplot()
    confusion = evaluation.confusion
    figure, axes = plt.subplots(figsize=(7.5, 6.5))
    # A log scale keeps the few off-diagonal errors visible beside diagonals of ~1,000.
    shown = axes.imshow(np.log1p(confusion), cmap="Blues")
    threshold = np.log1p(confusion.max()) / 2
    for true in range(10):
        for predicted in range(10):
            count = confusion[true, predicted]
            axes.text(predicted, true, str(count), ha="center", va="center", fontsize=8,
                      color="white" if np.log1p(count) > threshold else "black")
    axes.set_xticks(range(10))
    axes.set_yticks(range(10))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    axes.set_title(f"{title} (accuracy {evaluation.digit_accuracy:.2%})")
    figure.colorbar(shown, ax=axes, label="log(1 + count)")
    return save_figure(figure, Path(path))


MOSAIC_TILE = 28 + 4


def mosaic(images: np.ndarray, columns: int) -> np.ndarray:
    """MNIST-like images (white on black) as dark digits on a white sheet, in rows of `columns`
    tiles of MOSAIC_TILE pixels, each image 2 pixels in from its tile's top left corner."""
    rows = max(1, -(-len(images) // columns))
    sheet = np.full((rows * MOSAIC_TILE, columns * MOSAIC_TILE), 255, dtype=np.uint8)
    for position, image in enumerate(images):
        top, left = (position // columns) * MOSAIC_TILE + 2, (position % columns) * MOSAIC_TILE + 2
        sheet[top:top + 28, left:left + 28] = 255 - image
    return sheet


def save_misclassified_gallery(evaluation: Evaluation, split: Split, path: str | os.PathLike,
                               title: str = "Misclassified test images", columns: int = 12,
                               max_images: int = 144) -> Path:
    """A grid of the wrongly predicted images, most confident mistakes first, captioned true→pred (conf%)."""
    plt = pyplot()
    order = evaluation.misclassified[np.argsort(-evaluation.confidences[evaluation.misclassified], kind="stable")]
    shown = order[:max_images]
    rows, tile = max(1, -(-len(shown) // columns)), MOSAIC_TILE
    figure, axes = plt.subplots(figsize=(columns * 0.9, rows * 1.05 + 0.6))
    axes.imshow(mosaic(split.images[shown], columns), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    for position, index in enumerate(shown):
        axes.text((position % columns) * tile + tile / 2, (position // columns) * tile + tile - 0.5,
                  f"{evaluation.labels[index]}→{evaluation.predictions[index]} "
                  f"({evaluation.confidences[index]:.0%})", ha="center", va="top", fontsize=6.5)
    axes.set_ylim(rows * tile + 6, 0)
    axes.axis("off")
    count = len(evaluation.misclassified)
    more = f", the {len(shown)} most confident shown" if len(shown) < count else ""
    axes.set_title(f"{title}: {count} of {len(evaluation.labels):,} wrong{more}", fontsize=10)
    return save_figure(figure, Path(path))


def set_summary(evaluation: Evaluation) -> dict:
    return {"images": len(evaluation.labels), "accuracy": evaluation.answered.accuracy,
            "digit_accuracy": evaluation.digit_accuracy, "ece": evaluation.digit_ece,
            "not_a_digit_rate": evaluation.answered.not_a_digit_rate, "weakest_digits": evaluation.weakest()}


# The evaluation sets of other hands beside MNIST test, each reported under its name (null when left out).
HAND_SETS = ("drawn", "styled", "fonts", "optdigits")


def report_data(evaluation: Evaluation, latency: Latency, model_path: str | os.PathLike,
                params: int, hands: dict[str, Evaluation] | None = None, not_digits: dict | None = None) -> dict:
    """Accuracy counts a "not a digit" answer as wrong; digit_accuracy reads the best digit regardless.

    `hands` holds the evaluations of HAND_SETS, by name."""
    hands = hands or {}
    return {
        "model": str(model_path),
        "params": params,
        "images": len(evaluation.labels),
        "accuracy": evaluation.answered.accuracy,
        "digit_accuracy": evaluation.digit_accuracy,
        "ece": evaluation.digit_ece,
        "loss": evaluation.loss,
        "misclassified": len(evaluation.misclassified),
        "not_a_digit_rate": evaluation.answered.not_a_digit_rate,
        "weakest_digits": evaluation.weakest(),
        **{name: set_summary(hands[name]) if name in hands else None for name in HAND_SETS},
        "not_digits": not_digits,
        "per_digit": evaluation.per_digit(),
        "confusion": evaluation.confusion.tolist(),
        "misclassified_images": [
            {"index": int(i), "true": int(evaluation.labels[i]), "predicted": int(evaluation.predictions[i]),
             "confidence": float(evaluation.confidences[i])} for i in evaluation.misclassified],
        "latency": latency.as_dict(),
        "torch_version": str(torch.__version__),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write_report(evaluation: Evaluation, latency: Latency, split: Split, report_dir: str | os.PathLike,
                 model_path: str | os.PathLike, params: int, hands: dict[str, Evaluation] | None = None,
                 not_digits: dict | None = None) -> dict[str, Path]:
    """report.json, confusion.png, misclassified.png and reliability.png in report_dir; their paths by kind."""
    report_dir = Path(report_dir)
    data = report_data(evaluation, latency, model_path, params, hands, not_digits)
    sets = {"MNIST test": evaluation, **(hands or {})}
    return {
        "report": write_atomically(report_dir / "report.json", json.dumps(data, indent=2).encode() + b"\n"),
        "confusion": save_confusion_matrix(evaluation, report_dir / "confusion.png"),
        "misclassified": save_misclassified_gallery(evaluation, split, report_dir / "misclassified.png"),
        "reliability": save_reliability_diagram(sets, report_dir / "reliability.png"),
    }
