"""The lever study: which training change reads canvas drawings better, each measured alike.

Every lever trains the same network from the same seed, for the same epochs, on the same MNIST
images and generated non-digits; only the lever changes. All are measured on the held-out slice
of the MNIST training set (its digits, their canvas re-drawings, digits in other styles,
non-digits made from them), never tuned on the MNIST test set, whose accuracy is only reported.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..evaluate import answered_accuracy, not_a_digit_rate
from ..files import write_atomically
from ..mnist import Split
from ..predict import model_input
from ..predict import Predictor
from .augment import thicker, thinner
from .recipe import Extras, held_out_sets, split_off, train_with_extras
from .train import TrainConfig

LEVERS = {
    "baseline (affine warps only)": {},
    "stroke-width augmentation": {"stroke_width": True},
    "elastic distortions": {"elastic": True},
    "canvas re-drawings of training digits": {"drawn": True},
    "digits in other writing styles": {"styled": True},
    "all four": {"stroke_width": True, "elastic": True, "drawn": True, "styled": True},
}


class ThicknessTTA(Predictor):
    """Test-time augmentation: probabilities averaged over the drawing as it is, thicker and thinner."""

    @torch.inference_mode()
    def scores(self, inputs):
        x = model_input(inputs)
        results = [Predictor.scores(self, v.squeeze(1).numpy()) for v in (x, thicker(x), thinner(x))]
        return (np.mean([r[0] for r in results], axis=0), np.mean([r[1] for r in results], axis=0))


def measure(predictor: Predictor, held_out, test_split: Split) -> dict:
    return {
        "held_out_mnist_accuracy": answered_accuracy(predictor, held_out.mnist),
        "held_out_drawn_accuracy": answered_accuracy(predictor, held_out.drawn),
        "held_out_styled_accuracy": answered_accuracy(predictor, held_out.styled),
        "held_out_not_digits_null": not_a_digit_rate(predictor, held_out.negatives),
        "held_out_digits_null": not_a_digit_rate(predictor, np.concatenate(
            [s.images for s in (held_out.mnist, held_out.drawn, held_out.styled)])),
        "mnist_test_accuracy": answered_accuracy(predictor, test_split),
    }


def run_levers(train_split: Split, test_split: Split, report_dir: str | os.PathLike, *, base: TrainConfig,
               extras: Extras, initial_state: dict | None = None, log=print) -> list[dict]:
    """Train one model per lever with the same budget, `base` and the generated non-digits of `extras` (its
    re-drawings and styled digits where they are the lever); write levers.json and levers.md to report_dir."""
    held_out = held_out_sets(split_off(train_split)[1], cache_dir=extras.cache_dir)
    rows = []
    for name, lever in LEVERS.items():
        log(f"--- {name}")
        config = replace(base, elastic=lever.get("elastic", False), stroke_width=lever.get("stroke_width", False))
        lever_extras = replace(extras, drawn=extras.drawn if lever.get("drawn") else 0,
                               styled=extras.styled if lever.get("styled") else 0)
        result = train_with_extras(config, train_split, test_split, lever_extras, initial_state=initial_state,
                                   progress=False, log=log)
        predictor = Predictor(result.model, result.metadata)
        rows.append({"lever": name, **measure(predictor, held_out, test_split),
                     "training_seconds": result.metadata["training_seconds"]})
        log(json.dumps(rows[-1]))
        if name == "all four":
            rows.append({"lever": "all four + test-time thickness averaging (3 passes)",
                         **measure(ThicknessTTA(result.model, result.metadata), held_out, test_split),
                         "training_seconds": result.metadata["training_seconds"]})
            log(json.dumps(rows[-1]))
    report_dir = Path(report_dir)
    budget = {"architecture": base.architecture, "epochs": base.epochs, "mnist_images": base.train_limit,
              "canvas_redrawings": extras.drawn, "styled_digits": extras.styled, "not_digits": extras.negatives,
              "seed": base.seed, "threads": base.threads, "lr": base.lr, "fine_tuned": initial_state is not None}
    write_atomically(report_dir / "levers.json", json.dumps({"budget": budget, "levers": rows}, indent=2).encode())
    write_atomically(report_dir / "levers.md", markdown(rows, budget).encode())
    return rows


def markdown(rows: list[dict], budget: dict) -> str:
    lines = [
        f"Each lever: `{budget['architecture']}` "
        f"{'fine-tuned from a trained checkpoint' if budget['fine_tuned'] else 'from scratch'} (peak lr "
        f"{budget['lr']}), seed {budget['seed']}, {budget['epochs']} epoch(s) on "
        f"{budget['mnist_images']:,} MNIST training images and {budget['not_digits']:,} generated non-digits "
        f"(plus {budget['canvas_redrawings']:,} canvas re-drawings or {budget['styled_digits']:,} styled digits "
        f"where that is the lever), {budget['threads']} thread{'s' if budget['threads'] != 1 else ''}. "
        "Measured on the held-out slice of the training set; MNIST test only reported.",
        "",
        "| lever | held-out MNIST | held-out re-drawn | held-out styled | held-out non-digits null "
        "| held-out digits null | MNIST test | training |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['lever']} | {r['held_out_mnist_accuracy']:.2%} | {r['held_out_drawn_accuracy']:.2%} | "
                     f"{r['held_out_styled_accuracy']:.2%} | "
                     f"{r['held_out_not_digits_null']:.1%} | {r['held_out_digits_null']:.2%} | "
                     f"{r['mnist_test_accuracy']:.2%} | {r['training_seconds']:.0f} s |")
    return "\n".join(lines) + "\n"
