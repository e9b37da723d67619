import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from mlcore.compare import save_disagreement_gallery

from ...models import ModelUnavailable, ModelVersion
from ...release import TOLERANCE, compare_versions, comparison_lines, evaluation_sets
from ..database import DatabaseCommand
from ..interrupts import InterruptibleCommand
from ..paths import check_directory_to_write


class Command(InterruptibleCommand, DatabaseCommand):
    help = ("Compare two registered model versions on the same data (MNIST test, drawn digits, styled digits, "
            "UCI's writers where RELEASE_GATE_OPTDIGITS names them, the reviewed hold-out, non-digits): "
            "accuracy and ECE over the answers, how often each answers 'not a digit'; write a gallery of the drawings only one of "
            "them gets right. This is the release gate `activate_model` applies.")

    left = "no gallery was written"

    def add_arguments(self, parser):
        parser.add_argument("a", help="the reference version (usually the active one)")
        parser.add_argument("b", help="the candidate version")
        parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
        parser.add_argument("--report-dir", type=Path, default=settings.REPORTS_DIR / "comparison",
                            help="where the gallery goes (default reports/comparison)")

    def handle(self, *args, **options):
        check_directory_to_write(options["report_dir"], "--report-dir")
        versions = []
        for name in (options["a"], options["b"]):
            try:
                versions.append(ModelVersion.objects.get(name=name))
            except ModelVersion.DoesNotExist:
                raise CommandError(f"no model version named {name!r}") from None
        try:
            sets = evaluation_sets(*versions)
            comparison = compare_versions(*versions, sets=sets)
        except ModelUnavailable as exc:
            raise CommandError(str(exc)) from None
        gallery_path = options["report_dir"] / f"{versions[0].name}-vs-{versions[1].name}.png"
        try:
            gallery = save_disagreement_gallery(comparison, sets, gallery_path)
        except OSError as exc:
            raise CommandError(f"could not write the gallery to {gallery_path}: {exc}") from None
        if options["json"]:
            self.stdout.write(json.dumps({**comparison.as_dict(), "gallery": str(gallery)}))
            return
        self.stdout.write("\n".join(comparison_lines(comparison)))
        if comparison.regressions:
            self.stdout.write(self.style.WARNING(
                f"{comparison.b} is worse than {comparison.a} beyond the tolerance ({TOLERANCE}): "
                f"{'; '.join(comparison.regressions)}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"{comparison.b} passes the release gate against {comparison.a}"))
        self.stdout.write(f"gallery: {gallery}")
