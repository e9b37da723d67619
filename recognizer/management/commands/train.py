import math
from dataclasses import replace
from pathlib import Path

import torch
from django.conf import settings
from django.core.management.base import CommandError
from django.db import IntegrityError
from django.utils import timezone

from mlcore import checkpoint
from mlcore.datasets.fonts import font_files
from mlcore.mnist import MnistDataError, Split, load_split
from mlcore.model import ARCHITECTURES
from mlcore.training.growing import with_not_a_digit
from mlcore.training.recipe import train_with_extras
from mlcore.training.retraining import FINE_TUNE_EPOCHS, FINE_TUNE_LR, HOLDOUT_FRACTION, REVIEWED_WEIGHT, retrain
from mlcore.training.train import TrainConfig

from ...datasets import DatasetError, load_reviewed, reviewed_dataset
from ...inference import active_version
from ... import release
from ...models import ModelUnavailable, ModelVersion, Prediction, check_version_name
from ..database import DatabaseCommand
from ..interrupts import InterruptibleCommand
from ..paths import check_checkpoint_to_write, read_checkpoint
from ..training_options import (add_budget_arguments, add_extras_arguments, add_hyperparameter_arguments,
                                add_start_from_argument, check_non_digits_learnt, extras_config, start_state,
                                training_config)
from .activate_model import write_activation

# The MNIST test accuracy below which a model retrained on reviewed drawings is not activated.
DEFAULT_MNIST_FLOOR = 0.99
# The share of the loss a --teacher's answers take when --teacher-weight is not given.
TEACHER_WEIGHT = 0.5


class Command(InterruptibleCommand, DatabaseCommand):
    help = ("Train the digit CNN on MNIST (with --with-reviewed: plus the reviewed drawings), save a checkpoint "
            "with its model card, and register it as a version.")

    left = "nothing was saved"
    # The checkpoint saved and the name it is registered under, from when registering starts.
    registering = None

    def add_arguments(self, parser):
        defaults = TrainConfig()
        add_budget_arguments(parser, epochs_help=f"epochs, or {FINE_TUNE_EPOCHS} when fine-tuning")
        add_hyperparameter_arguments(parser, lr_help=f", or {FINE_TUNE_LR} when fine-tuning")
        parser.add_argument("--out", type=Path, default=None,
                            help="checkpoint path (default: models/mnist_cnn-<variant>-<time>.pt); the model card "
                                 "is written beside it as .json. The file of a registered version is never overwritten")
        parser.add_argument("--name", help="model version name (default: the file name without .pt)")
        parser.add_argument("--activate", action="store_true",
                            help="serve the new version at once, if it passes the release gate against the active one")
        parser.add_argument("--force", action="store_true",
                            help="with --activate, serve it even when the release gate finds it worse (recorded)")
        parser.add_argument("--no-register", action="store_true", help="do not record a model version")

        extras = parser.add_argument_group("generated drawings, mixed into MNIST (with --with-reviewed too: a "
                                           "fine-tuning without the sets the active model learnt from forgets what "
                                           "they taught)")
        add_extras_arguments(extras)
        extras.add_argument("--fonts", type=Path, metavar="DIR",
                            help="add the letters and symbols of the non-digits typeset in every font file under DIR "
                                 "(.ttf, .otf, .woff, .woff2) at six sizes and re-drawn with the page's pen, as "
                                 "non-digits: other hands' letters")
        add_start_from_argument(extras, "fine-tune from this checkpoint's weights (a ten-output one gains the eleventh)")

        taught = parser.add_argument_group("learning from a teacher (knowledge distillation)")
        taught.add_argument("--teacher", type=Path, metavar="CHECKPOINT",
                            help="learn also from this model's answers to each training image, softened: "
                                 "one network learns what an ensemble (`manage.py ensemble`) reads")
        taught.add_argument("--teacher-weight", type=float, default=None, metavar="SHARE",
                            help=f"the share of the loss that is the teacher's answers (default {TEACHER_WEIGHT})")
        taught.add_argument("--teacher-temperature", type=float, default=defaults.teacher_temperature, metavar="T",
                            help=f"soften the teacher's and the student's answers by T (default "
                                 f"{defaults.teacher_temperature:g})")

        reviewed = parser.add_argument_group("retraining on reviewed drawings")
        reviewed.add_argument("--with-reviewed", action="store_true",
                              help="add the drawings reviewers labelled to the MNIST training images, and compare "
                                   "the result with the active model")
        reviewed.add_argument("--reviewed-file", type=Path,
                              help="take the reviewed drawings from this `export_reviewed` file instead of the "
                                   "database (implies --with-reviewed)")
        reviewed.add_argument("--reviewed-weight", type=float, default=REVIEWED_WEIGHT,
                              help="how much one reviewed drawing counts against one MNIST image "
                                   f"(default {REVIEWED_WEIGHT:g})")
        reviewed.add_argument("--from-scratch", action="store_true",
                              help="train new weights instead of fine-tuning the active model")
        reviewed.add_argument("--holdout-fraction", type=float, default=HOLDOUT_FRACTION,
                              help="share of the reviewed drawings kept out of training to measure on "
                                   f"(chosen by a hash of each drawing, so it is the same every run; default {HOLDOUT_FRACTION})")
        reviewed.add_argument("--min-mnist-accuracy", type=float, default=None, metavar="FLOOR",
                              help="with --activate, refuse to serve a model below this MNIST test accuracy "
                                   f"(default {DEFAULT_MNIST_FLOOR} with --with-reviewed, none otherwise)")

    def handle(self, *args, **options):
        out = self.output_path(options["out"], options["variant"])
        self.left = f"nothing was saved, and {out} is as it was"
        with_reviewed = options["with_reviewed"] or options["reviewed_file"] is not None
        self.check_options(options, out, with_reviewed)
        extras = extras_config(options)
        fine_tune = (with_reviewed and not options["from_scratch"]) or options["start_from"] is not None
        teacher = self.teacher(options, with_reviewed)
        config = self.run_config(options, fine_tune, teacher)
        check_non_digits_learnt(extras, config.architecture, fonts=options["fonts"] is not None)
        try:
            train_split = load_split(options["data_dir"], "train")
            test_split = load_split(options["data_dir"], "test")
            if options["fonts"]:
                extras = replace(extras, fonts=tuple(font_files(options["fonts"])))
        except (MnistDataError, ValueError) as exc:
            raise CommandError(str(exc)) from None

        progress = options["verbosity"] > 0
        retraining = None
        try:
            if with_reviewed:
                base_version, base = self.active_model()
                retraining = retrain(
                    config, train_split, test_split, self.reviewed_drawings(options["reviewed_file"]),
                    base_name=base_version.name, base=base, extras=extras, reviewed_weight=options["reviewed_weight"],
                    holdout_fraction=options["holdout_fraction"], fine_tune=fine_tune,
                    calibration_drawings=settings.CALIBRATION_DRAWINGS, progress=progress, log=self.stdout.write)
                result = retraining.result
            else:
                epochs = f"{config.epochs} epoch{'' if config.epochs == 1 else 's'}"
                self.stdout.write(f"training {config.architecture} ({config.variant}) for {epochs}")
                result = train_with_extras(config, train_split, test_split, extras,
                                           initial_state=start_state(options["start_from"], config), teacher=teacher,
                                           calibration_drawings=settings.CALIBRATION_DRAWINGS,
                                           progress=progress, log=self.stdout.write)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        out = self.save(out, result, options, teacher)
        self.stdout.write(self.style.SUCCESS(
            f"MNIST test accuracy {checkpoint.mnist_accuracy(result.metadata):.4f} as the site answers (calibrated, "
            f"\"not a digit\" counted wrong) with "
            f"{result.metadata['params']:,} parameters in {result.metadata['training_seconds']:.0f} s; "
            f"saved {out} and its model card {out.with_suffix('.json')}"))
        if retraining is not None:
            self.write_comparison(retraining.summary, len(test_split.labels))
        if options["no_register"]:
            return
        self.register(out, checkpoint.mnist_accuracy(result.metadata), options,
                      retraining.reviewed_accuracy if retraining else None, with_reviewed)

    def check_options(self, options: dict, out: Path, with_reviewed: bool):
        """Every refusal the options alone decide, before a run that is long."""
        for option in ("start_from", "teacher"):
            if options[option] is not None and options[option].resolve() == out.resolve():
                raise CommandError(f"--out {out} is the --{option.replace('_', '-')} checkpoint, which training "
                                   f"reads; choose another --out")
        if options["no_register"] and options["activate"]:
            raise CommandError("--activate serves the model version that --no-register would not record; give one")
        if options["force"] and not options["activate"]:
            raise CommandError("--force serves the new version past the release gate, with --activate; without it "
                               "nothing is activated to force")
        if not options["no_register"]:
            name = options["name"] or out.stem
            try:
                check_version_name(name)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            # Checked before training, not found by the database after it.
            if ModelVersion.objects.filter(name=name).exists():
                raise CommandError(f"a model version is named {name!r} already; choose another --name")
        if with_reviewed and options["start_from"] is not None:
            # Retraining fine-tunes what the site serves: the checkpoint was dropped without a word.
            raise CommandError("--start-from is for training on MNIST and the generated sets; --with-reviewed "
                               "fine-tunes the active model version (activate the one to start from first)")
        floor = options["min_mnist_accuracy"]
        if floor is not None and not 0 <= floor <= 1:
            # NaN too, which would have passed every model.
            raise CommandError(f"--min-mnist-accuracy must be an accuracy between 0 and 1, not {floor}")
        if not (math.isfinite(options["reviewed_weight"]) and options["reviewed_weight"] > 0):
            raise CommandError(f"--reviewed-weight must be a positive number, not {options['reviewed_weight']}")

    def run_config(self, options: dict, fine_tune: bool, teacher) -> TrainConfig:
        """The run's configuration: a fine-tune's fewer epochs at a lower rate, the architecture it starts
        from, unless the options say otherwise."""
        defaults = TrainConfig()
        architecture = options["architecture"] or (
            self.start_architecture(options["start_from"]) if fine_tune else defaults.architecture)
        if teacher is not None and ARCHITECTURES[teacher.architecture].classes != ARCHITECTURES[architecture].classes:
            raise CommandError(f"the teacher ({teacher.architecture}) and {architecture} have different outputs")
        return training_config(
            options, epochs=first_given(options["epochs"], FINE_TUNE_EPOCHS if fine_tune else defaults.epochs),
            lr=first_given(options["lr"], FINE_TUNE_LR if fine_tune else defaults.lr), architecture=architecture,
            teacher_weight=first_given(options["teacher_weight"], TEACHER_WEIGHT) if teacher is not None else 0.0,
            teacher_temperature=options["teacher_temperature"])

    def save(self, out: Path, result, options: dict, teacher) -> Path:
        """The trained model saved at `out`, its card naming the checkpoints it was trained from."""
        if options["start_from"] is not None:
            result.metadata["fine_tuned_from"] = {"path": str(options["start_from"]),
                                                  "sha256": checkpoint.file_sha256(options["start_from"])}
        if teacher is not None:
            result.metadata["teacher"] = {"path": str(options["teacher"]),
                                          "sha256": checkpoint.file_sha256(options["teacher"]),
                                          "architecture": teacher.architecture}
        try:
            # Checked again: a version may have been registered at --out while this one trained.
            check_checkpoint_to_write(out, "--out")
        except CommandError as exc:
            raise CommandError(f"trained, but did not save: {exc}") from None
        try:
            out = checkpoint.save(out, result.model, result.metadata)
        except OSError as exc:
            raise CommandError(f"trained, but could not save {out}: {exc}") from None
        self.left = f"{out} was saved, and registered as no model version"
        return out

    def register(self, out: Path, test_accuracy: float, options: dict, reviewed_accuracy, with_reviewed: bool):
        floor = options["min_mnist_accuracy"]
        if floor is None and with_reviewed:
            floor = DEFAULT_MNIST_FLOOR
        below_floor = options["activate"] and floor is not None and test_accuracy < floor
        name = options["name"] or out.stem
        self.registering = (out, name)
        try:
            version = ModelVersion.objects.register(out, name=name, reviewed_accuracy=reviewed_accuracy)
        except (ModelUnavailable, IntegrityError) as exc:
            raise CommandError(f"saved {out}, but could not register it: {exc}") from None
        if below_floor:
            raise CommandError(
                f"registered model version {version.name} but did not activate it: its MNIST test accuracy "
                f"{test_accuracy:.4f} is below the floor {floor:.4f} (--min-mnist-accuracy). Train longer, on more "
                f"MNIST images or with a lower --reviewed-weight; or, having checked it, "
                f"`manage.py activate_model {version.name}`")
        if options["activate"]:
            previous = ModelVersion.objects.active()
            try:
                comparison = release.activate(version, force=options["force"])
            except release.ReleaseRefused as exc:
                raise CommandError(f"registered model version {name} but did not activate it: {exc}. Compare with "
                                   f"`manage.py compare_models`; activate it anyway with "
                                   f"`manage.py activate_model {name} --force`") from None
            except ModelUnavailable as exc:
                # The version is stored: the same name cannot be trained again, but it can be activated.
                raise CommandError(f"registered model version {name} but could not activate it: {exc}. Once that "
                                   f"is mended, `manage.py activate_model {name}`") from None
            write_activation(self, version, previous, comparison)
        self.stdout.write(f"registered model version {version.name}"
                          + (" (active)" if version.is_active else ""))

    def left_by_interrupt(self) -> str:
        if self.registering is None:
            return self.left
        # Asked of the database: Ctrl-C may land after the row is committed and before this command notes it.
        out, name = self.registering
        version = ModelVersion.objects.filter(name=name).first()
        if version is None:
            return self.left
        return (f"{out} was saved and registered as model version {name}, which is "
                f"{'active' if version.is_active else 'not active'}")

    def output_path(self, out: Path | None, variant: str) -> Path:
        """Where to save: never over a registered version's file, which workers may be serving."""
        if out is None:
            out = settings.MODELS_DIR / f"mnist_cnn-{variant}-{timezone.now():%Y%m%d-%H%M%S}.pt"
        # Checked before training: a run is long.
        check_checkpoint_to_write(out, "--out")
        return out

    def teacher(self, options: dict, with_reviewed: bool) -> torch.nn.Module | None:
        if options["teacher"] is None:
            if options["teacher_weight"] is not None:
                raise CommandError("--teacher-weight needs --teacher")
            return None
        if with_reviewed:
            raise CommandError("--teacher is for training on MNIST and the generated sets, not with --with-reviewed")
        return read_checkpoint(options["teacher"], "--teacher")[0]

    def start_architecture(self, path: Path | None) -> str:
        """Fine-tuning keeps the widths of the model it starts from, the checkpoint's or (without one, retraining
        on reviewed drawings) the active version's, and gives a ten-output model the "not a digit" output."""
        if path is not None:
            return with_not_a_digit(read_checkpoint(path, "--start-from")[1]["architecture"])
        version = ModelVersion.objects.active()
        if version is not None and version.metadata.get("architecture") in ARCHITECTURES:
            return with_not_a_digit(version.metadata["architecture"])
        return TrainConfig().architecture

    def active_model(self):
        try:
            version = active_version()
            return version, version.load()
        except ModelUnavailable as exc:
            raise CommandError(f"retraining on reviewed drawings starts from, and is compared with, the active "
                               f"model, which cannot be loaded: {exc}") from None

    def reviewed_drawings(self, reviewed_file: Path | None) -> Split:
        if reviewed_file is None:
            return reviewed_dataset(Prediction.objects.all())[0]
        try:
            reviewed = load_reviewed(reviewed_file)
        except DatasetError as exc:
            raise CommandError(str(exc)) from None
        if not len(reviewed.labels):
            # Retraining's own refusal sent the engineer to the admin, not to the file.
            raise CommandError(f"--reviewed-file {reviewed_file} holds no drawings; export reviewed ones with "
                               f"`manage.py export_reviewed --out PATH`")
        return reviewed

    def write_comparison(self, summary: dict, test_images: int):
        rows = [(f"MNIST test ({test_images:,})", "mnist_accuracy"),
                (f"held-out reviewed ({summary['reviewed_held_out_images']:,})", "reviewed_accuracy")]
        self.stdout.write(f"{'accuracy':<28}{'before (' + summary['base_version'] + ')':>24}{'after':>10}")
        for label, key in rows:
            before, after = summary["before"][key], summary["after"][key]
            self.stdout.write(f"{label:<28}{format_accuracy(before):>24}{format_accuracy(after):>10}")


def first_given(value, default):
    return default if value is None else value


def format_accuracy(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
