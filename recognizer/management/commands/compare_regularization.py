from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from mlcore.mnist import MnistDataError, load_split
from mlcore.training.study import VARIANT_TITLES, run_study
from mlcore.training.train import VARIANTS

from ..database import DatabaseCommand
from ..interrupts import InterruptibleCommand
from ..paths import check_checkpoint_to_write, check_directory_to_write, check_file_to_write
from ..training_options import add_budget_arguments, training_config


class Command(InterruptibleCommand, DatabaseCommand):
    help = ("Train the four regularisation variants (none, L1, L2, L1 + L2) with the same seed and budget "
            "and write a Markdown report with a results table, training curves and misclassified galleries.")

    def add_arguments(self, parser):
        add_budget_arguments(parser, epochs_help="epochs per variant")
        parser.add_argument("--report-dir", type=Path, default=settings.REPORTS_DIR / "regularization",
                            help="where report.md, its plots and the four checkpoints go")

    def handle(self, *args, **options):
        report_dir = options["report_dir"]
        check_directory_to_write(report_dir, "--report-dir")
        budget = training_config(options)
        try:
            train_split = load_split(options["data_dir"], "train")
            test_split = load_split(options["data_dir"], "test")
        except MnistDataError as exc:
            raise CommandError(str(exc)) from None
        # Checked before training: a checkpoint or a model card there may be a registered version's.
        for variant in VARIANTS:
            check_checkpoint_to_write(report_dir / f"{variant}.pt", "--report-dir")
        check_file_to_write(report_dir / "results.json", "--report-dir")
        before = files_in(report_dir)
        try:
            report = run_study(train_split, test_split, report_dir, base=budget, progress=options["verbosity"] > 0,
                               log=self.stdout.write)
        except OSError as exc:
            raise CommandError(f"could not write the report to {report_dir}: {exc}") from None
        except KeyboardInterrupt:
            # Each variant writes its checkpoint and gallery as it ends: left, they read as a study's report.
            written = [path for path, stamp in files_in(report_dir).items() if before.get(path) != stamp]
            for path in written:
                path.unlink(missing_ok=True)
            self.left = (f"no report was written, and the {len(written)} files its variants had written to "
                         f"{report_dir} were removed")
            raise

        self.stdout.write("")
        self.stdout.write(f"{'variant':<18} {'accuracy':>9} {'loss':>7} {'seconds':>8}")
        for outcome in report.outcomes:
            self.stdout.write(f"{VARIANT_TITLES[outcome.variant]:<18} {outcome.evaluation.digit_accuracy:>9.4f} "
                              f"{outcome.evaluation.loss:>7.4f} {outcome.metadata['training_seconds']:>8.0f}")
        self.stdout.write(self.style.SUCCESS(f"best: {VARIANT_TITLES[report.best.variant]}; report {report.markdown}"))


def files_in(directory: Path) -> dict[Path, int]:
    """The files directly in `directory` (none if it is not there yet), each with its modification time."""
    if not directory.is_dir():
        return {}
    return {path: path.stat().st_mtime_ns for path in directory.iterdir() if path.is_file()}
