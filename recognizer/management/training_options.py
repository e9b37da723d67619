"""The training options `train`, `compare_regularization` and `compare_levers` share: declared once,
checked by TrainConfig."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from mlcore.model import ARCHITECTURES
from mlcore.training.train import VARIANTS, TrainConfig, available_device


def add_budget_arguments(parser, epochs_help: str = "epochs") -> None:
    """How long and on what: the options every training command takes."""
    defaults = TrainConfig()
    parser.add_argument("--epochs", type=int, default=None, help=f"{epochs_help} (default {defaults.epochs})")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N MNIST training images")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--device", default=defaults.device,
                        help=f"where the network trains: cpu, or an accelerator such as cuda (default {defaults.device}); "
                             "the generated drawings are made on the CPU either way")
    parser.add_argument("--data-dir", type=Path, default=settings.MNIST_DATA_DIR)


def add_hyperparameter_arguments(parser, lr_help: str = "") -> None:
    """What is trained and how: the model, optimiser, regularisation and augmentation."""
    defaults = TrainConfig()
    parser.add_argument("--architecture", choices=list(ARCHITECTURES), default=None,
                        help=f"default {defaults.architecture}, or the starting model's when fine-tuning "
                             "(docs/model.md says what each is)")
    parser.add_argument("--variant", choices=VARIANTS, default=defaults.variant,
                        help="regularisation: L1 penalty in the loss, L2 weight decay, both, or neither")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=None,
                        help=f"peak learning rate of the one-cycle schedule (default {defaults.lr}{lr_help})")
    parser.add_argument("--l1", type=float, default=defaults.l1, help="L1 coefficient (variants l1, l1_l2)")
    parser.add_argument("--l2", type=float, default=defaults.l2, help="weight decay (variants l2, l1_l2)")
    parser.add_argument("--no-augment", action="store_true", help="train without random affine augmentation")
    parser.add_argument("--rotation", type=float, default=defaults.rotation, metavar="DEGREES",
                        help=f"turn each image up to this many degrees either way (default {defaults.rotation:g})")
    parser.add_argument("--elastic", action="store_true", help="elastic distortion of half of each batch")
    parser.add_argument("--stroke-width", action="store_true",
                        help="thicken or thin the strokes of half of each batch")
    parser.add_argument("--coarse", action="store_true",
                        help="redraw a quarter of each batch from a coarse grid of 7 to 14 pixels a side")


def training_config(options: dict, **fields) -> TrainConfig:
    """A TrainConfig from parsed options (those given; `fields` override); a bad value is a CommandError."""
    names = ("architecture", "variant", "epochs", "batch_size", "lr", "l1", "l2", "seed", "train_limit",
             "threads", "device", "rotation", "elastic", "stroke_width", "coarse")
    values = {name: options[name] for name in names if options.get(name) is not None}
    if "no_augment" in options:
        values["augment"] = not options["no_augment"]
    values.update(fields)
    try:
        config = TrainConfig(**values)
        # Checked before any data is read or drawn: a run is long.
        available_device(config.device)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return config
