"""The training options `train`, `compare_regularization` and `compare_levers` share: declared once,
checked by TrainConfig, and the checkpoint a training starts from."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from mlcore.labels import NOT_A_DIGIT
from mlcore.model import ARCHITECTURES
from mlcore.training.growing import with_outputs_of
from mlcore.training.recipe import Extras
from mlcore.training.train import VARIANTS, TrainConfig, available_device

from .paths import read_checkpoint

# Each count of Extras a command may take: its option and help.
EXTRAS_OPTIONS = {
    "drawn": ("--canvas-drawings", "add N MNIST training digits re-drawn as canvas strokes"),
    "styled": ("--styled-digits", "add N digits in other writing styles (a flagged 1, a crossed 7, ...)"),
    "negatives": ("--not-digits", "add N generated non-digits (label 10) for the \"not a digit\" output"),
    "marks": ("--stray-marks", "add N drawings of two to four stray strokes (lines, bent lines, arcs) as non-digits: "
                               "marks no template foresaw"),
}


def add_budget_arguments(parser, epochs_help: str = "epochs", defaults: TrainConfig = TrainConfig()) -> None:
    """How long and on what: the options every training command takes, their help naming `defaults`."""
    parser.add_argument("--epochs", type=int, default=None, help=f"{epochs_help} (default {defaults.epochs})")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--train-limit", type=int, default=None,
                        help=f"use only the first N MNIST training images (default {defaults.train_limit or 'all'})")
    parser.add_argument("--threads", type=int, default=None,
                        help=f"torch threads (default {defaults.threads or 'all cores'})")
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


def add_extras_arguments(parser, defaults: Extras = Extras(), counts: tuple[str, ...] = tuple(EXTRAS_OPTIONS)) -> None:
    """The options of the extras' `counts`, each N drawings (default: `defaults`')."""
    for field in counts:
        option, text = EXTRAS_OPTIONS[field]
        parser.add_argument(option, dest=field, type=int, default=getattr(defaults, field), metavar="N", help=text)


def extras_config(options: dict) -> Extras:
    """The Extras of the count options a command took, cached in GENERATED_CACHE_DIR; a negative count is a
    CommandError."""
    counts = {field: options[field] for field in EXTRAS_OPTIONS if field in options}
    if min(counts.values()) < 0:
        names = [EXTRAS_OPTIONS[field][0] for field in counts]
        raise CommandError(f"{', '.join(names[:-1])} and {names[-1]} must be at least 0")
    return Extras(**counts, cache_dir=settings.GENERATED_CACHE_DIR)


def check_non_digits_learnt(extras: Extras, architecture: str, fonts: bool = False) -> None:
    """A CommandError, before anything is drawn, where the extras (and `fonts`' letters) hold non-digits that
    `architecture` has no "not a digit" output to learn."""
    if ARCHITECTURES[architecture].classes > NOT_A_DIGIT:
        return
    given = [EXTRAS_OPTIONS[field][0] for field in ("negatives", "marks") if getattr(extras, field)]
    given += ["--fonts"] * fonts
    if given:
        with_output = [name for name, shape in ARCHITECTURES.items() if shape.classes > NOT_A_DIGIT]
        raise CommandError(f"{architecture} has no \"not a digit\" output to learn the non-digits of "
                           f"{' and '.join(given)}; leave them out, or train {', '.join(with_output)}")


def add_start_from_argument(parser, help: str) -> None:
    """--start-from, the checkpoint a training fine-tunes (read by `start_state`)."""
    parser.add_argument("--start-from", type=Path, default=None, metavar="CHECKPOINT", help=help)


def start_state(path: Path | None, config: TrainConfig) -> dict | None:
    """The weights of the checkpoint at `path` to fine-tune from, with config.architecture's outputs; None: none."""
    if path is None:
        return None
    model, _ = read_checkpoint(path, "--start-from")
    return with_outputs_of(model.state_dict(), config.architecture, config.seed)
