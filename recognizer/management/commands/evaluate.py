import json
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import CommandError

from mlcore import checkpoint
from mlcore.calibrate import ECE_BINS
from mlcore.datasets.fonts import font_files
from mlcore.datasets.unseen import UNSEEN_KINDS
from mlcore.evaluate import (drawn_set, evaluate, font_digit_set, font_non_digit_set, measure_latency,
                             non_digit_set, not_a_digit_rate, optdigits_set, report_data, styled_set, unseen_set,
                             write_report)
from mlcore.mnist import MnistDataError, load_split
from mlcore.predict import Predictor

from ..interrupts import InterruptibleCommand
from ..paths import check_directory_to_write, model_option_source

# The characters of the fonts named in the text report: those least often answered "not a digit".
WEAKEST_SHOWN = 6

HAND_DESCRIPTIONS = {"drawn": "drawn set ({:,} test digits re-drawn as canvas strokes)",
                     "styled": "styled set ({:,} digits in other writing styles)",
                     "fonts": "font set ({:,} digits in handwriting fonts)",
                     "optdigits": "optdigits set ({:,} digits of UCI's writers, as 8x8 block counts)"}


class Command(InterruptibleCommand):
    help = ("Evaluate a checkpoint on the 10,000 MNIST test images, on MNIST test digits re-drawn as canvas "
            "strokes, on digits in other writing styles and, given a directory of fonts, on digits, letters and "
            "symbols in handwriting fonts and, given UCI's optdigits file, on its writers' digits: accuracy, "
            "calibration (ECE over the digits), per-digit precision and recall, confusion matrix, not-a-digit rates (also on "
            "generated non-digits), latency and throughput; write report.json, confusion.png, misclassified.png "
            "and reliability.png.")

    left = "no report was written"

    def add_arguments(self, parser):
        parser.add_argument("--model", type=Path, default=settings.MNIST_MODEL_PATH,
                            help="checkpoint to evaluate (default: MNIST_MODEL_PATH, which a fresh database serves; "
                                 "not necessarily the active version: name its file to measure it)")
        parser.add_argument("--data-dir", type=Path, default=settings.MNIST_DATA_DIR)
        parser.add_argument("--report-dir", type=Path, default=settings.REPORTS_DIR / "evaluation")
        parser.add_argument("--repeats", type=int, default=200, help="single-image timings for the latency figures")
        parser.add_argument("--drawn", type=int, default=2000, metavar="N",
                            help="re-draw the first N test digits as canvas strokes (default 2000; drawing takes "
                                 "about 10-20 ms each; 0 leaves the drawn set out)")
        parser.add_argument("--styled", type=int, default=1000, metavar="N",
                            help="digits in other writing styles (mlcore.datasets.styles: a flagged 1, a crossed 7, "
                                 "...; default 1000, 0 leaves them out)")
        parser.add_argument("--fonts", type=Path, metavar="DIR",
                            help="also read each digit, and each letter and symbol of the non-digits, typeset in "
                                 "every font file under DIR (.ttf, .otf, .woff, .woff2) at two sizes: handwriting "
                                 "fonts are writers outside MNIST (fonts the model was trained on, by train --fonts, "
                                 "are left out)")
        parser.add_argument("--optdigits", type=Path, metavar="FILE",
                            help="also read the digits of UCI's optical-recognition set (optdigits.tes, "
                                 "optdigits.tra or scikit-learn's digits.csv.gz): real writers outside MNIST, "
                                 "sent as 8x8 block counts")
        parser.add_argument("--not-digits", type=int, default=1000, metavar="N",
                            help="generated non-digits to measure the not-a-digit rate on (default 1000)")
        parser.add_argument("--unseen", type=int, default=100, metavar="N",
                            help=f"drawings of each of the {len(UNSEEN_KINDS)} kinds of non-digit the generator never "
                                 "draws (mlcore.datasets.unseen: a lightning bolt, a small c, a note, ...; "
                                 "default 100)")
        parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else")

    def handle(self, *args, **options):
        check_directory_to_write(options["report_dir"], "--report-dir")
        check_sizes(options)
        try:
            model, metadata = checkpoint.load(options["model"], model_option_source(options["model"]))
            test_split = load_split(options["data_dir"], "test")
            fonts, fonts_left_out = fonts_not_trained_on(options["fonts"], metadata)
            font_digits, font_letters = (font_digit_set(fonts), font_non_digit_set(fonts)) if fonts else (None, None)
            optdigits = optdigits_set(options["optdigits"]) if options["optdigits"] else None
        except (checkpoint.CheckpointError, MnistDataError, ValueError) as exc:
            raise CommandError(str(exc)) from None

        predictor = Predictor(model, metadata)
        evaluation = evaluate(predictor, test_split)
        hand_sets = {"drawn": drawn_set(test_split, options["drawn"]) if options["drawn"] else None,
                     "styled": styled_set(options["styled"]) if options["styled"] else None,
                     "fonts": font_digits, "optdigits": optdigits}
        hands = {name: evaluate(predictor, split) for name, split in hand_sets.items() if split is not None}
        not_digit_summary = non_digit_summary(predictor, non_digit_set(test_split, options["not_digits"]).images,
                                              font_letters, unseen_set(options["unseen"]))
        # Timed at the thread count a serving worker uses, so the latency is the one the site sees.
        latency = measure_latency(predictor, test_split.images, repeats=options["repeats"],
                                  threads=settings.INFERENCE_THREADS)
        self.left = f"the report in {options['report_dir']} may be partly written"
        try:
            files = write_report(evaluation, latency, test_split, options["report_dir"],
                                 options["model"], metadata["params"], hands, not_digit_summary)
        except OSError as exc:
            raise CommandError(f"could not write the report to {options['report_dir']}: {exc}") from None

        if options["json"]:
            summary = report_data(evaluation, latency, options["model"], metadata["params"], hands,
                                  not_digit_summary)
            del summary["misclassified_images"]
            summary["report_files"] = {kind: str(path) for kind, path in files.items()}
            if options["fonts"]:
                summary["fonts_left_out"] = fonts_left_out
            self.stdout.write(json.dumps(summary))
            return
        if fonts_left_out:
            self.stdout.write(f"fonts left out, the model was trained on them: {', '.join(fonts_left_out)}")
        self.write_text_report(evaluation, latency, metadata, options["model"], files, hands, not_digit_summary)

    def write_text_report(self, evaluation, latency, metadata, model_path, files, hands, not_digit_summary):
        self.write_figures(evaluation, metadata, model_path, hands)
        self.write_non_digits(not_digit_summary)
        self.write_tables(evaluation)
        out = self.stdout.write
        out(f"single-image latency: median {latency.median_ms:.2f} ms, p95 {latency.p95_ms:.2f} ms "
            f"({latency.repeats} runs, {latency.threads} thread{'s' if latency.threads != 1 else ''})")
        out(f"batch throughput: {latency.throughput:,.0f} images/s in batches of {latency.batch_size:,}")
        out("")
        for kind, path in files.items():
            out(f"{kind}: {path}")

    def write_figures(self, evaluation, metadata, model_path, hands):
        """The model, and what it reads in MNIST test and in each set of other hands."""
        out = self.stdout.write
        epochs = f"{metadata['epochs']} epoch{'' if metadata['epochs'] == 1 else 's'}"
        trained = (f"{len(metadata['members'])} networks read together" if metadata.get("members")
                   else f"variant {metadata['variant']}, {epochs}")
        out(f"model {model_path}: {metadata['params']:,} parameters, {trained}")
        images, misclassified = len(evaluation.labels), len(evaluation.misclassified)
        out(self.style.SUCCESS(
            f"test accuracy {evaluation.digit_accuracy:.4f} ({images - misclassified:,} of {images:,}), "
            f"loss {evaluation.loss:.4f}, {misclassified} misclassified"))
        out(f"answered right {evaluation.answered.accuracy:.4f}; answered \"not a digit\" "
            f"{evaluation.answered.not_a_digit_rate:.2%}; ECE over the digits {evaluation.digit_ece:.2%} "
            f"({ECE_BINS} bins)")
        for name, hand in hands.items():
            out(f"{HAND_DESCRIPTIONS[name].format(len(hand.labels))}: answered right {hand.answered.accuracy:.4f}, "
                f"\"not a digit\" {hand.answered.not_a_digit_rate:.2%}, ECE over the digits {hand.digit_ece:.2%}")

    def write_non_digits(self, not_digit_summary):
        """How often each set of non-digits is answered "not a digit", with the characters or kinds least often so."""
        out = self.stdout.write
        if not_digit_summary["images"]:
            out(f"generated non-digits ({not_digit_summary['images']:,}): answered \"not a digit\" "
                f"{not_digit_summary['not_a_digit_rate']:.2%}")
        if not_digit_summary["fonts"]:
            letters = not_digit_summary["fonts"]
            weakest = sorted(letters["per_character"].items(), key=lambda item: item[1])[:WEAKEST_SHOWN]
            out(f"letters and symbols in handwriting fonts ({letters['images']:,}): answered \"not a digit\" "
                f"{letters['not_a_digit_rate']:.2%} (the least often: "
                + ", ".join(f"{character} {rate:.0%}" for character, rate in weakest) + ")")
        if not_digit_summary["unseen_kinds"]:
            unseen = not_digit_summary["unseen_kinds"]
            out(f"kinds of non-digit the generator never draws ({unseen['images']:,}): answered \"not a digit\" "
                f"{unseen['not_a_digit_rate']:.2%} (" + ", ".join(f"{kind} {rate:.0%}" for kind, rate in
                                                       unseen["per_kind"].items()) + ")")
        out("")

    def write_tables(self, evaluation):
        """Per-digit precision and recall, and the confusion matrix, of MNIST test."""
        out = self.stdout.write
        out("digit  precision  recall  support")
        for row in evaluation.per_digit():
            out(f"{row['digit']:>5}  {row['precision']:>9.4f}  {row['recall']:>6.4f}  {row['support']:>7,}")
        out("")
        out("confusion matrix (rows: true digit, columns: predicted digit)")
        out("      " + "".join(f"{d:>6}" for d in range(10)))
        for digit, row in enumerate(evaluation.confusion):
            out(f"{digit:>6}" + "".join(f"{count:>6}" for count in row))
        out("")


def check_sizes(options: dict) -> None:
    if options["repeats"] < 1:
        raise CommandError("--repeats must be at least 1")
    # Generated drawings cost 10-20 ms each: the bounds keep a run within an hour.
    if not 0 <= options["drawn"] <= 10000 or not 0 <= options["not_digits"] <= 100_000 \
            or not 0 <= options["styled"] <= 100_000:
        raise CommandError("--drawn must be 0 to 10000, --styled and --not-digits 0 to 100000")
    if not 0 <= options["unseen"] <= 10_000:
        raise CommandError("--unseen must be 0 to 10000")


def non_digit_summary(predictor: Predictor, generated: np.ndarray, font_letters: tuple[np.ndarray, np.ndarray] | None,
                      unseen: tuple[np.ndarray, np.ndarray]) -> dict:
    """The share answered "not a digit" of the generated non-digits, of the fonts' letters and symbols (None
    without fonts) and of the kinds the generator never draws (None without any), with each character's and kind's."""
    return {"images": len(generated),
            "not_a_digit_rate": not_a_digit_rate(predictor, generated) if len(generated) else None,
            "fonts": None if font_letters is None else rates_of(predictor, *font_letters, "per_character"),
            "unseen_kinds": None if not len(unseen[0]) else rates_of(predictor, *unseen, "per_kind")}


def rates_of(predictor: Predictor, images: np.ndarray, groups: np.ndarray, per: str) -> dict:
    """How many images, the share of them answered "not a digit", and under `per`, each group's share."""
    return {"images": len(images), "not_a_digit_rate": not_a_digit_rate(predictor, images),
            per: rates_by(predictor, images, groups)}


def rates_by(predictor: Predictor, images: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """The share of each group's images (a kind, a character) answered "not a digit", groups in first-seen order."""
    return {str(group): not_a_digit_rate(predictor, images[groups == group])
            for group in dict.fromkeys(groups.tolist())}


def fonts_not_trained_on(directory: Path | None, metadata: dict) -> tuple[list[Path], list[str]]:
    """The font files under `directory` less those the model's card says it was trained on (`train --fonts`),
    and the names of those left out: a font the model learnt from says nothing of other hands."""
    if directory is None:
        return [], []
    trained_on = set(metadata.get("training_set", {}).get("fonts", []))
    fonts = font_files(directory)
    left_out = [font.name for font in fonts if font.name in trained_on]
    if len(left_out) == len(fonts):
        raise CommandError(f"the model was trained on every font under {directory} (its card's training_set.fonts): "
                           "measure it on fonts it has not seen")
    return [font for font in fonts if font.name not in trained_on], left_out
