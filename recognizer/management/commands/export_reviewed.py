from pathlib import Path

from django.core.management.base import CommandError

from mlcore.labels import NOT_A_DIGIT

from ...datasets import export_reviewed, export_strokes
from ...models import ModelVersion, Prediction
from ..database import DatabaseCommand
from ..paths import check_file_to_write


class Command(DatabaseCommand):
    help = ("Write the reviewed drawings (normalised 28x28 inputs and their true labels) to an .npz file, "
            "for `manage.py train --reviewed-file`.")

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="the .npz file to write")
        parser.add_argument("--strokes", type=Path, metavar="PATH",
                            help="also write the strokes of the reviewed drawings that have them, as "
                                 "newline-delimited JSON in the Quick, Draw! style")
        parser.add_argument("--model-version", metavar="NAME",
                            help="only drawings predicted by this model version")

    def handle(self, *args, **options):
        # Both files are checked before either is written, so a bad second path leaves no first file behind.
        check_file_to_write(options["out"], "--out")
        if options["strokes"] is not None:
            check_file_to_write(options["strokes"], "--strokes")
            if options["strokes"].resolve() == options["out"].resolve():
                raise CommandError("--out and --strokes name the same file; give each its own")
        predictions = Prediction.objects.all()
        name = options["model_version"]
        if name is not None:
            if not ModelVersion.objects.filter(name=name).exists():
                raise CommandError(f"no model version named {name!r}")
            predictions = predictions.filter(model_version__name=name)
        reviewed = predictions.reviewed()
        if not reviewed.exists():
            # An empty file would only fail later, in `train --reviewed-file`, far from its cause.
            unreviewed = predictions.unreviewed().count()
            raise CommandError(f"no reviewed drawings{' of ' + name if name else ''} to export, so nothing was "
                               f"written ({unreviewed:,} await review); set true labels in the admin or the "
                               "review queue first")
        not_digits = reviewed.filter(true_label=NOT_A_DIGIT).count()
        try:
            count = export_reviewed(predictions, options["out"])
        except OSError as exc:
            raise CommandError(f"could not write {options['out']}: {exc}") from None
        if options["strokes"] is not None:
            try:
                drawn = export_strokes(predictions, options["strokes"])
            except OSError as exc:
                raise CommandError(f"wrote {count:,} reviewed drawings to {options['out']}, but could not write "
                                   f"{options['strokes']}: {exc}") from None
            self.stdout.write(f"wrote the strokes of {drawn:,} reviewed drawings to {options['strokes']}")
        unreviewed = predictions.unreviewed().count()
        self.stdout.write(self.style.SUCCESS(f"wrote {count:,} reviewed drawings ({not_digits:,} of them not a "
                                             f"digit) to {options['out']}")
                          + (f"; {unreviewed:,} still await review" if unreviewed else ""))
