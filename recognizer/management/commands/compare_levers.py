from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from mlcore.mnist import MnistDataError, load_split
from mlcore.model import ARCHITECTURE, ARCHITECTURES
from mlcore.training.levers import run_levers
from mlcore.training.recipe import Extras
from mlcore.training.train import TrainConfig

from ..interrupts import InterruptibleCommand
from ..paths import check_directory_to_write
from ..training_options import (add_budget_arguments, add_extras_arguments, add_start_from_argument,
                                check_non_digits_learnt, extras_config, start_state, training_config)


# A short run on a slice, on one thread, so that the levers' times compare.
LEVER_BUDGET = TrainConfig(epochs=3, train_limit=10000, threads=1, lr=0.1)


class Command(InterruptibleCommand):
    help = ("Train the network once per lever for other hands (stroke width, elastic distortions, canvas "
            "re-drawings, digits in other styles, all four, and test-time averaging) with the same seed and "
            "budget; measure each on the held-out slice and write levers.md and levers.json.")

    # The levers' report is written once all are measured.
    left = "no report was written"

    def add_arguments(self, parser):
        add_budget_arguments(parser, epochs_help="epochs per lever", defaults=LEVER_BUDGET)
        parser.add_argument("--architecture", choices=list(ARCHITECTURES), default=ARCHITECTURE)
        parser.add_argument("--lr", type=float, default=LEVER_BUDGET.lr,
                            help=f"peak learning rate (default {LEVER_BUDGET.lr})")
        add_extras_arguments(parser, Extras(drawn=2000, styled=2000, negatives=3000),
                             counts=("drawn", "styled", "negatives"))
        add_start_from_argument(parser, "fine-tune every lever from this checkpoint (default: train from scratch)")
        parser.add_argument("--report-dir", type=Path, default=settings.REPORTS_DIR / "levers")

    def handle(self, *args, **options):
        check_directory_to_write(options["report_dir"], "--report-dir")
        unset = {name: getattr(LEVER_BUDGET, name) for name in ("epochs", "train_limit", "threads")
                 if options[name] is None}
        budget = training_config(options, **unset)
        extras = extras_config(options)
        check_non_digits_learnt(extras, budget.architecture)
        try:
            initial_state = start_state(options["start_from"], budget)
            train_split = load_split(options["data_dir"], "train")
            test_split = load_split(options["data_dir"], "test")
        except (MnistDataError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        rows = run_levers(train_split, test_split, options["report_dir"], base=budget, extras=extras,
                          initial_state=initial_state, log=self.stdout.write)
        for row in rows:
            self.stdout.write(f"{row['lever']:<55} drawn {row['held_out_drawn_accuracy']:.4f}  "
                              f"non-digits null {row['held_out_not_digits_null']:.3f}")
        self.stdout.write(self.style.SUCCESS(f"report {Path(options['report_dir']) / 'levers.md'}"))
