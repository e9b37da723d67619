from pathlib import Path

from django.core.management.base import CommandError

from ... import release
from ...models import ModelUnavailable, ModelVersion
from ...release import TOLERANCE, ReleaseRefused, comparison_lines
from ..database import DatabaseCommand
from ..interrupts import InterruptibleCommand


def write_activation(command: DatabaseCommand, version: ModelVersion, previous: ModelVersion | None,
                     comparison: release.Comparison | None):
    """What a command says of an activation (`release.activation_notes`): this one's, and `train --activate`'s."""
    table, warnings = release.activation_notes(version, previous, comparison)
    for line in table:
        command.stdout.write(line)
    for warning in warnings:
        command.stdout.write(command.style.WARNING(warning))


class Command(InterruptibleCommand, DatabaseCommand):
    help = ("Serve another registered model version; every worker switches on its next request. The version "
            "is first compared with the active one and refused when worse beyond the release gate's tolerance.")

    # The version's name, and whether it was registered before this command: what a refusal or an interrupt
    # leaves of it.
    version_name = None
    registered_before = True

    def add_arguments(self, parser):
        parser.add_argument("name", help="the model version's name (see the admin, or `manage.py train`), or the "
                                         "path of a checkpoint (.pt) to register first under its file name, as "
                                         "when an upgrade ships a new model")
        parser.add_argument("--force", action="store_true",
                            help="activate even when the release gate finds it worse; who and when are recorded "
                                 f"on the version (tolerance: {TOLERANCE})")

    def handle(self, *args, **options):
        path = Path(options["name"])
        self.version_name = path.stem if path.suffix == ".pt" else options["name"]
        self.registered_before = ModelVersion.objects.filter(name=self.version_name).exists()
        version = self.version(options["name"])
        name = version.name
        if version.is_active:
            self.stdout.write(f"{name} is already the active model version")
            return
        previous = ModelVersion.objects.active()
        try:
            comparison = release.activate(version, force=options["force"])
        except ReleaseRefused as exc:
            self.stdout.write("\n".join(comparison_lines(exc.comparison)))
            raise CommandError(
                f"{exc}. Activate it anyway with --force (recorded on the version){self.kept(name)}") from None
        except ModelUnavailable as exc:
            raise CommandError(f"refusing to activate {name}: {exc}{self.kept(name)}") from None
        write_activation(self, version, previous, comparison)
        self.stdout.write(self.style.SUCCESS(
            f"activated {name} (MNIST test accuracy {version.mnist_accuracy:.4f}); "
            f"workers switch to it on their next request"))

    def left_by_interrupt(self) -> str:
        # Asked of the database: Ctrl-C may land after a row is committed and before this command notes it.
        version = ModelVersion.objects.filter(name=self.version_name).first() if self.version_name else None
        if version is not None and version.is_active:
            return f"{version.name} is the active model version"
        active = ModelVersion.objects.active()
        served = f"{active.name} is still active" if active else "no model version is active"
        if version is not None and not self.registered_before:
            return f"{version.name} stays registered, not active; {served}"
        return f"nothing was changed; {served}"

    def kept(self, name: str) -> str:
        """What a refusal leaves of a version this command registered: its name and file stay taken."""
        if self.registered_before:
            return ""
        return (f". {name} stays registered, not active: activate it by name later, or delete it in the admin to "
                f"use its name and file again")

    def version(self, name_or_path: str) -> ModelVersion:
        """The version of that name; a checkpoint path is registered first unless already registered."""
        path = Path(name_or_path)
        if path.suffix == ".pt":
            existing = ModelVersion.objects.filter(name=path.stem).first()
            if existing is not None:
                if existing.file_path.resolve() != path.resolve():
                    raise CommandError(f"a model version named {path.stem!r} already serves {existing.file_path}; "
                                       f"rename {path} or activate {path.stem!r} by name")
                return existing
            try:
                version = ModelVersion.objects.register(path, given_as="the checkpoint to activate")
            except ModelUnavailable as exc:
                raise CommandError(f"cannot register {path}: {exc}") from None
            self.stdout.write(f"registered {version.name} from {version.file_path}")
            return version
        try:
            return ModelVersion.objects.get(name=name_or_path)
        except ModelVersion.DoesNotExist:
            known = ", ".join(ModelVersion.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(f"no model version named {name_or_path!r}; known versions: {known or 'none'}") from None
