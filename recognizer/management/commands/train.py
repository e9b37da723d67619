from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from django.utils import timezone

from mlcore import checkpoint
from mlcore.data import MnistDataError, Split, load_split
from mlcore.evaluate import evaluate_split
from mlcore.reviewed import HOLDOUT_FRACTION, mix, split_holdout
from mlcore.train import VARIANTS, TrainConfig, train

from ...datasets import DatasetError, load_reviewed, reviewed_dataset
from ...models import ModelUnavailable, ModelVersion, Prediction, ReleaseRefused

# Fine-tuning starts from a trained model: a short run at a gentle peak rate adapts it without undoing it.
FINE_TUNE_EPOCHS = 2
FINE_TUNE_LR = 0.02
DEFAULT_MNIST_FLOOR = 0.99


class Command(BaseCommand):
    help = ("Train the digit CNN on MNIST (with --with-reviewed: plus the reviewed drawings), save a checkpoint "
            "with its model card, and register it as a version.")

    def add_arguments(self, parser):
        defaults = TrainConfig()
        parser.add_argument("--variant", choices=VARIANTS, default=defaults.variant,
                            help="regularisation: L1 penalty in the loss, L2 weight decay, both, or neither")
        parser.add_argument("--epochs", type=int, default=None,
                            help=f"default {defaults.epochs}, or {FINE_TUNE_EPOCHS} when fine-tuning")
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
        parser.add_argument("--lr", type=float, default=None,
                            help=f"peak learning rate of the one-cycle schedule (default {defaults.lr}, "
                                 f"or {FINE_TUNE_LR} when fine-tuning)")
        parser.add_argument("--l1", type=float, default=defaults.l1, help="L1 coefficient (variants l1, l1_l2)")
        parser.add_argument("--l2", type=float, default=defaults.l2, help="weight decay (variants l2, l1_l2)")
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--train-limit", type=int, default=None, help="use only the first N MNIST training images")
        parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
        parser.add_argument("--no-augment", action="store_true", help="train without random affine augmentation")
        parser.add_argument("--data-dir", type=Path, default=settings.MNIST_DATA_DIR)
        parser.add_argument("--out", type=Path, default=None,
                            help="checkpoint path (default: models/mnist_cnn-<variant>-<time>.pt); the model card "
                                 "is written beside it as .json. The file of a registered version is never overwritten")
        parser.add_argument("--name", help="model version name (default: the file name without .pt)")
        parser.add_argument("--activate", action="store_true",
                            help="serve the new version at once, if it passes the release gate against the active one")
        parser.add_argument("--force", action="store_true",
                            help="with --activate, serve it even when the release gate finds it worse (recorded)")
        parser.add_argument("--no-register", action="store_true", help="do not record a model version")

        reviewed = parser.add_argument_group("retraining on reviewed drawings")
        reviewed.add_argument("--with-reviewed", action="store_true",
                              help="add the drawings reviewers labelled to the MNIST training images, and compare "
                                   "the result with the active model")
        reviewed.add_argument("--reviewed-file", type=Path,
                              help="take the reviewed drawings from this `export_reviewed` file instead of the "
                                   "database (implies --with-reviewed)")
        reviewed.add_argument("--reviewed-weight", type=float, default=5.0,
                              help="how much one reviewed drawing counts against one MNIST image (default 5)")
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
        with_reviewed = options["with_reviewed"] or options["reviewed_file"] is not None
        fine_tune = with_reviewed and not options["from_scratch"]
        defaults = TrainConfig()
        floor = options["min_mnist_accuracy"]
        if floor is None and with_reviewed:
            floor = DEFAULT_MNIST_FLOOR
        try:
            config = TrainConfig(
                variant=options["variant"],
                epochs=first_given(options["epochs"], FINE_TUNE_EPOCHS if fine_tune else defaults.epochs),
                batch_size=options["batch_size"],
                lr=first_given(options["lr"], FINE_TUNE_LR if fine_tune else defaults.lr),
                l1=options["l1"], l2=options["l2"], seed=options["seed"],
                train_limit=options["train_limit"], threads=options["threads"],
                augment=not options["no_augment"])
            train_split = load_split(options["data_dir"], "train")
            test_split = load_split(options["data_dir"], "test")
        except (ValueError, MnistDataError) as exc:
            raise CommandError(str(exc)) from None

        sample_weights = initial_state = retraining = None
        if with_reviewed:
            base_version, base_model = self.active_model()
            reviewed = self.reviewed_drawings(options["reviewed_file"])
            try:
                fit, held_out = split_holdout(reviewed, options["holdout_fraction"])
                # The limit applies to MNIST alone; train() would otherwise cut off the reviewed drawings at the end.
                train_split, sample_weights = mix(train_split.head(config.train_limit), fit,
                                                  options["reviewed_weight"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            retraining = {
                "base_version": base_version.name,
                "fine_tuned": fine_tune,
                "mnist_train_images": len(train_split.labels) - len(fit.labels),
                "reviewed_train_images": len(fit.labels),
                "reviewed_held_out_images": len(held_out.labels),
                "reviewed_weight": options["reviewed_weight"],
                "holdout_fraction": options["holdout_fraction"],
                "before": {"mnist_accuracy": accuracy(base_model, test_split),
                           "reviewed_accuracy": accuracy(base_model, held_out)},
            }
            config = replace(config, train_limit=None)
            if fine_tune:
                initial_state = base_model.state_dict()
            self.stdout.write(f"{'fine-tuning ' + base_version.name if fine_tune else 'training from scratch'} "
                              f"on {retraining['mnist_train_images']:,} MNIST images and "
                              f"{len(fit.labels):,} reviewed drawings (weight {options['reviewed_weight']}); "
                              f"{len(held_out.labels):,} reviewed drawings held out")

        self.stdout.write(f"training {config.variant} for {config.epochs} epochs on "
                          f"{len(train_split.head(config.train_limit).labels):,} images")
        result = train(config, train_split, test_split, sample_weights=sample_weights, initial_state=initial_state,
                       progress=options["verbosity"] > 0, log=self.stdout.write)
        if retraining is not None:
            retraining["after"] = {"mnist_accuracy": result.metadata["test_accuracy"],
                                   "reviewed_accuracy": accuracy(result.model, held_out)}
            result.metadata["reviewed_training"] = retraining
        out = checkpoint.save(out, result.model, result.metadata)
        self.stdout.write(self.style.SUCCESS(
            f"test accuracy {result.metadata['test_accuracy']:.4f} with {result.metadata['params']:,} parameters "
            f"in {result.metadata['training_seconds']:.0f} s; saved {out} and its model card {out.with_suffix('.json')}"))
        if retraining is not None:
            self.write_comparison(retraining, len(test_split.labels))
        if options["no_register"]:
            return

        test_accuracy = result.metadata["test_accuracy"]
        below_floor = options["activate"] and floor is not None and test_accuracy < floor
        name = options["name"] or out.stem
        try:
            version = ModelVersion.objects.register(
                out, name=name, activate=options["activate"] and not below_floor, force=options["force"],
                reviewed_accuracy=retraining["after"]["reviewed_accuracy"] if retraining else None)
        except ReleaseRefused as exc:
            raise CommandError(f"registered model version {name} but did not activate it: {exc}. Compare with "
                               f"`manage.py compare_models`; activate it anyway with "
                               f"`manage.py activate_model {name} --force`") from None
        except (ModelUnavailable, IntegrityError) as exc:
            raise CommandError(f"saved {out}, but could not register it: {exc}") from None
        if below_floor:
            raise CommandError(
                f"registered model version {version.name} but did not activate it: its MNIST test accuracy "
                f"{test_accuracy:.4f} is below the floor {floor:.4f} (--min-mnist-accuracy). Train longer, on more "
                f"MNIST images or with a lower --reviewed-weight; or, having checked it, "
                f"`manage.py activate_model {version.name}`")
        self.stdout.write(f"registered model version {version.name}"
                          + (" (active)" if version.is_active else ""))

    def output_path(self, out: Path | None, variant: str) -> Path:
        """Where to save: never over a registered version's file, which workers may be serving."""
        if out is None:
            out = settings.MODELS_DIR / f"mnist_cnn-{variant}-{timezone.now():%Y%m%d-%H%M%S}.pt"
        resolved = out.resolve()
        for version in ModelVersion.objects.only("name", "path"):
            if version.file_path.resolve() == resolved:
                raise CommandError(f"{out} is the file of model version {version.name!r}; "
                                   f"choose another --out")
        return out

    def active_model(self):
        version = ModelVersion.objects.active()
        try:
            if version is None:
                raise ModelUnavailable("no model version is active; run `manage.py bootstrap_model`")
            return version, version.load().model
        except ModelUnavailable as exc:
            raise CommandError(f"retraining on reviewed drawings starts from, and is compared with, the active "
                               f"model, which cannot be loaded: {exc}") from None

    def reviewed_drawings(self, reviewed_file: Path | None) -> Split:
        if reviewed_file is None:
            reviewed, _ = reviewed_dataset(Prediction.objects.all())
        else:
            try:
                reviewed = load_reviewed(reviewed_file)
            except DatasetError as exc:
                raise CommandError(str(exc)) from None
        if not len(reviewed.labels):
            raise CommandError("there are no reviewed drawings to train on; set true labels in the admin first")
        return reviewed

    def write_comparison(self, retraining: dict, test_images: int):
        rows = [(f"MNIST test ({test_images:,})", "mnist_accuracy"),
                (f"held-out reviewed ({retraining['reviewed_held_out_images']:,})", "reviewed_accuracy")]
        self.stdout.write(f"{'accuracy':<28}{'before (' + retraining['base_version'] + ')':>24}{'after':>10}")
        for label, key in rows:
            before, after = retraining["before"][key], retraining["after"][key]
            self.stdout.write(f"{label:<28}{format_accuracy(before):>24}{format_accuracy(after):>10}")


def first_given(value, default):
    return default if value is None else value


def accuracy(model, split: Split) -> float | None:
    return evaluate_split(model, split)[1] if len(split.labels) else None


def format_accuracy(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
