from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mlcore import checkpoint
from mlcore.mnist import MnistDataError, load_split
from mlcore.model import ARCHITECTURE, ARCHITECTURES, with_outputs_of
from mlcore.training.levers import run_levers

from ..paths import check_directory_to_write
from ..training_options import add_budget_arguments, training_config


class Command(BaseCommand):
    help = ("Train the network once per lever for other hands (stroke width, elastic distortions, canvas "
            "re-drawings, digits in other styles, all four, and test-time averaging) with the same seed and "
            "budget; measure each on the held-out slice and write levers.md and levers.json.")

    def add_arguments(self, parser):
        add_budget_arguments(parser, epochs_help="epochs per lever")
        parser.add_argument("--architecture", choices=list(ARCHITECTURES), default=ARCHITECTURE)
        parser.add_argument("--lr", type=float, default=0.1, help="peak learning rate (default 0.1)")
        parser.add_argument("--canvas-drawings", type=int, default=2000, metavar="N")
        parser.add_argument("--styled-digits", type=int, default=2000, metavar="N")
        parser.add_argument("--not-digits", type=int, default=3000, metavar="N")
        parser.add_argument("--start-from", type=Path, default=None,
                            help="fine-tune every lever from this checkpoint (default: train from scratch)")
        parser.add_argument("--report-dir", type=Path, default=settings.REPORTS_DIR / "levers")

    def handle(self, *args, **options):
        check_directory_to_write(options["report_dir"], "--report-dir")
        defaults = {"epochs": 3, "train_limit": 10000, "threads": 1}
        budget = training_config(options, **{name: value for name, value in defaults.items() if options[name] is None})
        if min(options["canvas_drawings"], options["styled_digits"], options["not_digits"]) < 0:
            raise CommandError("--canvas-drawings, --styled-digits and --not-digits must be at least 0")
        try:
            initial_state = None
            if options["start_from"] is not None:
                initial_state = with_outputs_of(checkpoint.load(options["start_from"])[0].state_dict(),
                                                budget.architecture, budget.seed)
            train_split = load_split(options["data_dir"], "train")
            test_split = load_split(options["data_dir"], "test")
        except (checkpoint.CheckpointError, MnistDataError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        rows = run_levers(train_split, test_split, options["report_dir"], epochs=budget.epochs,
                          train_limit=budget.train_limit, drawn=options["canvas_drawings"],
                          styled=options["styled_digits"], negatives=options["not_digits"],
                          architecture=budget.architecture, seed=budget.seed, threads=budget.threads,
                          device=budget.device, cache_dir=settings.GENERATED_CACHE_DIR,
                          initial_state=initial_state, lr=budget.lr, log=self.stdout.write)
        for row in rows:
            self.stdout.write(f"{row['lever']:<55} drawn {row['held_out_drawn_accuracy']:.4f}  "
                              f"non-digits null {row['held_out_not_digits_null']:.3f}")
        self.stdout.write(self.style.SUCCESS(f"report {Path(options['report_dir']) / 'levers.md'}"))
