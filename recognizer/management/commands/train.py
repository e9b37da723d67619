from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from mlcore import checkpoint
from mlcore.data import MnistDataError, load_split
from mlcore.train import VARIANTS, TrainConfig, train

from ...inference import ModelUnavailable, register


class Command(BaseCommand):
    help = "Train the digit CNN on MNIST, save a checkpoint with its model card, and register it as a version."

    def add_arguments(self, parser):
        defaults = TrainConfig()
        parser.add_argument("--variant", choices=VARIANTS, default=defaults.variant,
                            help="regularisation: L1 penalty in the loss, L2 weight decay, both, or neither")
        parser.add_argument("--epochs", type=int, default=defaults.epochs)
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
        parser.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate of the one-cycle schedule")
        parser.add_argument("--l1", type=float, default=defaults.l1, help="L1 coefficient (variants l1, l1_l2)")
        parser.add_argument("--l2", type=float, default=defaults.l2, help="weight decay (variants l2, l1_l2)")
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
        parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
        parser.add_argument("--no-augment", action="store_true", help="train without random affine augmentation")
        parser.add_argument("--data-dir", type=Path, default=settings.MNIST_DATA_DIR)
        parser.add_argument("--out", type=Path, default=settings.MODELS_DIR / "mnist_cnn.pt",
                            help="checkpoint path; the model card is written beside it as .json")
        parser.add_argument("--name", help="model version name (default: the file name without .pt)")
        parser.add_argument("--activate", action="store_true", help="serve the new version at once")
        parser.add_argument("--no-register", action="store_true", help="do not record a model version")

    def handle(self, *args, **options):
        try:
            config = TrainConfig(
                variant=options["variant"], epochs=options["epochs"], batch_size=options["batch_size"],
                lr=options["lr"], l1=options["l1"], l2=options["l2"], seed=options["seed"],
                train_limit=options["train_limit"], threads=options["threads"],
                augment=not options["no_augment"])
            train_split = load_split(options["data_dir"], "train")
            test_split = load_split(options["data_dir"], "test")
        except (ValueError, MnistDataError) as exc:
            raise CommandError(str(exc)) from None

        self.stdout.write(f"training {config.variant} for {config.epochs} epochs on "
                          f"{len(train_split.head(config.train_limit).labels):,} images")
        result = train(config, train_split, test_split, progress=options["verbosity"] > 0,
                       log=self.stdout.write)
        out = checkpoint.save(options["out"], result.model, result.metadata)
        self.stdout.write(self.style.SUCCESS(
            f"test accuracy {result.metadata['test_accuracy']:.4f} with {result.metadata['params']:,} parameters "
            f"in {result.metadata['training_seconds']:.0f} s; saved {out} and its model card {out.with_suffix('.json')}"))
        if not options["no_register"]:
            try:
                version = register(out, name=options["name"], activate=options["activate"])
            except (ModelUnavailable, IntegrityError) as exc:
                raise CommandError(f"saved {out}, but could not register it: {exc}") from None
            self.stdout.write(f"registered model version {version.name}"
                              + (" (active)" if version.is_active else ""))
