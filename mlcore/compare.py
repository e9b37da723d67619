"""Two models on the same evaluation sets: accuracy, calibration, "not a digit" answers, and a release gate.

Every set is a name, uint8 (N, 28, 28) inputs and labels, where `labels.NOT_A_DIGIT` marks a drawing that
is no digit. A model is compared through its answers: the label it gives (NOT_A_DIGIT included) and its
confidence in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .evaluate import MOSAIC_TILE, Scores, answered_scores, mosaic, pyplot, save_figure
from .labels import NOT_A_DIGIT, label_name


@dataclass(frozen=True)
class Tolerance:
    """How much worse than the active version a candidate may be on a set before the gate refuses it."""

    accuracy: float = 0.005        # absolute drop in accuracy
    ece: float = 0.02              # absolute rise in the expected calibration error over the answers
    not_a_digit: float = 0.01      # absolute change of the "not a digit" rate in the wrong direction
    min_images: int = 100          # smaller sets are reported but not gated: their noise exceeds the tolerance

    def __str__(self) -> str:
        return (f"accuracy may drop by {self.accuracy}, ECE over the answers rise by {self.ece}, the \"not a digit\" "
                f"rate move the wrong way by {self.not_a_digit}, on sets of {self.min_images} images or more")


@dataclass(frozen=True)
class EvaluationSet:
    name: str
    images: np.ndarray
    labels: np.ndarray

    @property
    def of_non_digits(self) -> bool:
        return bool(len(self.labels)) and bool(np.all(self.labels == NOT_A_DIGIT))


Answerer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class SetComparison:
    name: str
    images: int
    a: Scores
    b: Scores
    only_a_right: np.ndarray = field(repr=False)   # indices the first model gets right and the second wrong
    only_b_right: np.ndarray = field(repr=False)
    a_answers: np.ndarray = field(repr=False)
    b_answers: np.ndarray = field(repr=False)

    def as_dict(self) -> dict:
        return {"name": self.name, "images": self.images, "a": self.a.as_dict(), "b": self.b.as_dict(),
                "only_a_right": len(self.only_a_right), "only_b_right": len(self.only_b_right)}


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    sets: list[SetComparison]
    regressions: list[str]      # where b is worse than a beyond the tolerance, in words
    tolerance: Tolerance

    def as_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "sets": [s.as_dict() for s in self.sets],
                "regressions": self.regressions, "tolerance": self.tolerance.__dict__}


def batched(answer: Answerer, batch_size: int = 1000) -> Answerer:
    """An answerer (such as `Predictor.answers`) run over at most `batch_size` images at a time."""
    def answer_in_batches(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [answer(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return answer_in_batches


def regressions_of(comparison: SetComparison, non_digits: bool, tolerance: Tolerance) -> list[str]:
    if comparison.images < tolerance.min_images:
        return []
    a, b, name = comparison.a, comparison.b, comparison.name
    found = []
    # Each written as what passes, negated: a NaN figure passes no comparison, so it is a regression, not a pass.
    if not b.accuracy >= a.accuracy - tolerance.accuracy:
        found.append(f"{name} accuracy {b.accuracy:.4f} < {a.accuracy:.4f}")
    if not b.ece <= a.ece + tolerance.ece:
        found.append(f"{name} ECE over the answers {b.ece:.4f} > {a.ece:.4f}")
    rate_change = b.not_a_digit_rate - a.not_a_digit_rate
    if not (-rate_change if non_digits else rate_change) <= tolerance.not_a_digit:
        found.append(f"{name} 'not a digit' rate {b.not_a_digit_rate:.4f} vs {a.not_a_digit_rate:.4f}")
    return found


def compare(a: tuple[str, Answerer], b: tuple[str, Answerer], sets: list[EvaluationSet],
            tolerance: Tolerance = Tolerance()) -> Comparison:
    """Both models on every set; `regressions` lists where the second is worse than the first."""
    (a_name, a_answer), (b_name, b_answer) = a, b
    results, regressions = [], []
    for evaluation_set in sets:
        labels = evaluation_set.labels.astype(np.int64)
        a_answers, a_conf = a_answer(evaluation_set.images)
        b_answers, b_conf = b_answer(evaluation_set.images)
        a_right, b_right = a_answers == labels, b_answers == labels
        result = SetComparison(evaluation_set.name, len(labels), answered_scores(a_answers, a_conf, labels),
                               answered_scores(b_answers, b_conf, labels), np.flatnonzero(a_right & ~b_right),
                               np.flatnonzero(b_right & ~a_right), a_answers, b_answers)
        results.append(result)
        regressions += regressions_of(result, evaluation_set.of_non_digits, tolerance)
    return Comparison(a_name, b_name, results, regressions, tolerance)


def save_disagreement_gallery(comparison: Comparison, sets: list[EvaluationSet], path: str | Path,
                              per_side: int = 48, columns: int = 12) -> Path:
    """For each set, the drawings only one of the two models gets right, captioned with both answers."""
    plt = pyplot()
    panels = [(s, result, indices, winner)
              for s, result in zip(sets, comparison.sets)
              for indices, winner in ((result.only_a_right, comparison.a), (result.only_b_right, comparison.b))]
    figure, axes_list = plt.subplots(len(panels), 1, figsize=(columns * 0.9, len(panels) * 2.4 + 0.5),
                                     squeeze=False)
    tile = MOSAIC_TILE
    for axes, (evaluation_set, result, indices, winner) in zip(axes_list[:, 0], panels):
        shown = indices[:per_side]
        rows = max(1, -(-len(shown) // columns))
        for position, index in enumerate(shown):
            top, left = (position // columns) * tile + 2, (position % columns) * tile + 2
            axes.text(left + 14, top + 30, f"{label_name(int(result.a_answers[index]))}|"
                      f"{label_name(int(result.b_answers[index]))}", ha="center", va="top", fontsize=5)
        axes.imshow(mosaic(evaluation_set.images[shown], columns), cmap="gray", vmin=0, vmax=255,
                    interpolation="nearest")
        axes.set_ylim(rows * tile + 6, 0)
        axes.axis("off")
        axes.set_title(f"{evaluation_set.name}: {len(indices)} only {winner} gets right "
                       f"(captions: {comparison.a}|{comparison.b})", fontsize=9)
    return save_figure(figure, Path(path))
