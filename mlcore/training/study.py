"""The regularisation study: the four variants trained alike, compared in a Markdown report with plots."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import torch

from .. import checkpoint
from ..evaluate import Evaluation, evaluate, pyplot, save_figure, save_misclassified_gallery
from ..files import write_atomically
from ..mnist import Split
from ..predict import Predictor
from .train import VARIANTS, TrainConfig, conv_weights, train

# Test accuracy of the best variant in the study this project started from.
ORIGINAL_BEST_ACCURACY = 0.9936

# Convolution weights smaller than this count as pruned away, the effect an L1 penalty is meant to have.
NEAR_ZERO = 1e-3

VARIANT_TITLES = {"none": "no regularisation", "l1": "L1", "l2": "L2", "l1_l2": "L1 + L2"}


@dataclass(frozen=True)
class VariantOutcome:
    variant: str
    metadata: dict
    evaluation: Evaluation
    near_zero_share: float
    checkpoint: Path
    gallery: Path


@dataclass(frozen=True)
class StudyReport:
    outcomes: list[VariantOutcome]
    markdown: Path
    curves: Path

    @property
    def best(self) -> VariantOutcome:
        return max(self.outcomes, key=lambda o: (o.evaluation.digit_accuracy, -o.evaluation.loss))


def near_zero_share(model: torch.nn.Module) -> float:
    weights = torch.cat([w.detach().flatten() for w in conv_weights(model)])
    return (weights.abs() < NEAR_ZERO).float().mean().item()


def run_study(train_split: Split, test_split: Split, report_dir: str | os.PathLike, *, base: TrainConfig,
              progress: bool = True, log=print) -> StudyReport:
    """Train every variant with `base`'s seed and budget; write checkpoints, plots and report.md."""
    report_dir = Path(report_dir)
    # The study is of the original ten-output architecture, as it was first run.
    configs = [replace(base, architecture="mnist-cnn-v1", variant=variant) for variant in VARIANTS]
    outcomes = []
    for config in configs:
        log(f"--- {config.variant}: {VARIANT_TITLES[config.variant]}")
        result = train(config, train_split, test_split, progress=progress, log=log)
        evaluation = evaluate(Predictor(result.model, result.metadata), test_split)
        outcomes.append(VariantOutcome(
            variant=config.variant, metadata=result.metadata, evaluation=evaluation,
            near_zero_share=near_zero_share(result.model),
            checkpoint=checkpoint.save(report_dir / f"{config.variant}.pt", result.model, result.metadata),
            gallery=save_misclassified_gallery(
                evaluation, test_split, report_dir / f"misclassified_{config.variant}.png",
                title=f"{VARIANT_TITLES[config.variant]}: misclassified test images")))
    curves = save_training_curves(outcomes, report_dir / "curves.png")
    report = StudyReport(outcomes, report_dir / "report.md", curves)
    write_atomically(report.markdown, markdown(report, configs[0]).encode())
    write_atomically(report_dir / "results.json", json.dumps(results(report), indent=2).encode() + b"\n")
    return report


def save_training_curves(outcomes: list[VariantOutcome], path: Path) -> Path:
    """Test accuracy (as error, on a log scale, where 99.3% and 99.6% differ visibly) and loss per epoch."""
    plt = pyplot()
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator

    figure, (error_axes, loss_axes) = plt.subplots(1, 2, figsize=(12, 4.5))
    for outcome in outcomes:
        history = outcome.metadata["history"]
        epochs = [entry["epoch"] for entry in history]
        label = VARIANT_TITLES[outcome.variant]
        error_axes.plot(epochs, [100 * (1 - entry["test_accuracy"]) for entry in history], marker="o", label=label)
        loss_axes.plot(epochs, [entry["test_loss"] for entry in history], marker="o", label=label)
    error_axes.axhline(100 * (1 - ORIGINAL_BEST_ACCURACY), color="grey", linestyle="--", linewidth=1,
                       label=f"original study's best ({ORIGINAL_BEST_ACCURACY:.2%} accuracy)")
    error_axes.set(title="Test accuracy per epoch", xlabel="epoch", ylabel="test error (%) = 100 - accuracy",
                   yscale="log")
    loss_axes.set(title="Test loss per epoch", xlabel="epoch", ylabel="cross-entropy", yscale="log")
    for axes in (error_axes, loss_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        axes.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
        axes.grid(alpha=0.3, which="both")
        axes.legend()
    figure.tight_layout()
    return save_figure(figure, path)


def results(report: StudyReport) -> dict:
    return {
        "original_best_accuracy": ORIGINAL_BEST_ACCURACY,
        "best_variant": report.best.variant,
        "variants": [{
            "variant": o.variant, "test_accuracy": o.evaluation.digit_accuracy, "test_loss": o.evaluation.loss,
            "misclassified": len(o.evaluation.misclassified), "params": o.metadata["params"],
            "near_zero_share": o.near_zero_share, "training_seconds": o.metadata["training_seconds"],
            "checkpoint": o.checkpoint.name, "gallery": o.gallery.name,
        } for o in report.outcomes],
    }


def comparison_with_original(best: VariantOutcome) -> str:
    difference = 100 * (best.evaluation.digit_accuracy - ORIGINAL_BEST_ACCURACY)
    if difference >= 0:
        verdict = (f"which reproduces the original study's best of {ORIGINAL_BEST_ACCURACY:.2%} and goes beyond "
                   f"it by {difference:.2f} percentage points")
    else:
        verdict = (f"which falls {-difference:.2f} percentage points short of the original study's best of "
                   f"{ORIGINAL_BEST_ACCURACY:.2%}; it is not reproduced with this run's budget")
    return (f"The best variant here, **{VARIANT_TITLES[best.variant]}**, reached "
            f"**{best.evaluation.digit_accuracy:.2%}** test accuracy, {verdict}.")


def markdown(report: StudyReport, config: TrainConfig) -> str:
    first = report.outcomes[0].metadata
    lines = [
        "# Regularisation study: none, L1, L2, L1 + L2",
        "",
        f"Each variant trained the same {first['architecture']} network ({first['params']:,} parameters) "
        f"from the same seed ({config.seed}) for {config.epochs} epoch{'s' if config.epochs != 1 else ''} "
        f"on {first['train_images']:,} training images (batch {config.batch_size}, one-cycle SGD to lr "
        f"{config.lr}, augmentation {'on' if config.augment else 'off'}; L1 coefficient {config.l1} on the "
        f"convolution weights, L2 weight decay {config.l2}). All are evaluated on the "
        f"{first['test_images']:,} MNIST test images. torch {first['torch_version']}, "
        f"{first['threads']} thread{'s' if first['threads'] != 1 else ''}, "
        f"{datetime.now(timezone.utc).isoformat(timespec='minutes')}.",
        "",
        comparison_with_original(report.best),
        "",
        "| variant | test accuracy | test loss | misclassified | parameters | conv weights near 0 | training time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for o in report.outcomes:
        lines.append(f"| {VARIANT_TITLES[o.variant]} | {o.evaluation.digit_accuracy:.2%} | {o.evaluation.loss:.4f} | "
                     f"{len(o.evaluation.misclassified)} | {o.metadata['params']:,} | {o.near_zero_share:.1%} | "
                     f"{o.metadata['training_seconds']:.0f} s |")
    lines += [
        "",
        f"\"Conv weights near 0\" is the share of convolution weights with |w| < {NEAR_ZERO:g}: how far the "
        "L1 penalty pushed the network towards sparsity. The checkpoints (`<variant>.pt`, each with its "
        "`.json` model card) were written beside this report.",
        "",
        "## Training curves",
        "",
        f"![Test accuracy and loss per epoch]({report.curves.name})",
        "",
        "## Misclassified test images",
        "",
        "Each image is captioned true→predicted (confidence); the most confident mistakes come first.",
    ]
    for o in report.outcomes:
        lines += ["", f"### {VARIANT_TITLES[o.variant]}", "", f"![{o.variant} misclassified]({o.gallery.name})"]
    return "\n".join(lines) + "\n"
