from pathlib import Path

import torch
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mlcore import checkpoint
from mlcore.data import MnistDataError, load_split
from mlcore.levers import run_levers
from mlcore.model import with_outputs_of

from ..training_options import add_budget_arguments, training_config
from .train import CACHE_DIR


class Command(BaseCommand):
    help = ("Train mnist-cnn-v2 once per lever for drawn digits (stroke width, elastic distortions, canvas "
            "re-drawings, all three, and test-time averaging) with the same seed and budget; measure each on "
            "the held-out slice and write levers.md and levers.json.")

    def add_arguments(self, parser):
        add_budget_arguments(parser, epochs_help="epochs per lever")
        parser.add_argument("--lr", type=float, default=0.02, help="peak learning rate (default 0.02)")
        parser.add_argument("--canvas-drawings", type=int, default=1500, metavar="N")
        parser.add_argument("--not-digits", type=int, default=1500, metavar="N")
        parser.add_argument("--start-from", type=Path, default=settings.BASE_DIR / "models" / "mnist_cnn.pt",
                            help="fine-tune every lever from this checkpoint (default the original v1 model)")
        parser.add_argument("--report-dir", type=Path, default=settings.BASE_DIR / "reports" / "levers")

    def handle(self, *args, **options):
        defaults = {"epochs": 1, "train_limit": 6000, "threads": 1}
        budget = training_config(options, architecture="mnist-cnn-v2",
                                 **{name: value for name, value in defaults.items() if options[name] is None})
        try:
            start, _ = checkpoint.load(options["start_from"])
            train_split = load_split(options["data_dir"], "train")
            test_split = load_split(options["data_dir"], "test")
        except (checkpoint.CheckpointError, MnistDataError) as exc:
            raise CommandError(str(exc)) from None
        torch.manual_seed(budget.seed)
        rows = run_levers(train_split, test_split, options["report_dir"], epochs=budget.epochs,
                          train_limit=budget.train_limit, drawn=options["canvas_drawings"],
                          negatives=options["not_digits"], seed=budget.seed, threads=budget.threads,
                          cache_dir=CACHE_DIR, initial_state=with_outputs_of(start.state_dict(), "mnist-cnn-v2"),
                          lr=budget.lr, log=self.stdout.write)
        for row in rows:
            self.stdout.write(f"{row['lever']:<55} drawn {row['held_out_drawn_accuracy']:.4f}  "
                              f"non-digits null {row['held_out_not_digits_null']:.3f}")
        self.stdout.write(self.style.SUCCESS(f"report {Path(options['report_dir']) / 'levers.md'}"))
