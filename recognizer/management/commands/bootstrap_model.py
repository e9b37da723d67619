from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from ...models import ModelUnavailable, ModelVersion
from ..database import DatabaseCommand
from ..paths import model_option_source


class Command(DatabaseCommand):
    help = ("On a fresh database, register the shipped checkpoint (MNIST_MODEL_PATH) and serve it. "
            "Does nothing when a version is already active; `make setup` runs it.")

    def add_arguments(self, parser):
        parser.add_argument("--model", type=Path, default=settings.MNIST_MODEL_PATH, help="checkpoint to register")

    def handle(self, *args, **options):
        try:
            version, registered, activated = ModelVersion.objects.bootstrap(options["model"],
                                                                            model_option_source(options["model"]))
        except ModelUnavailable as exc:
            raise CommandError(f"could not bootstrap a model version: {exc}") from None
        if registered:
            self.stdout.write(self.style.SUCCESS(f"registered and activated {version.name} from {version.file_path}"))
        elif activated:
            self.stdout.write(self.style.SUCCESS(f"activated {version.name}, registered before, "
                                                 f"from {version.file_path}"))
        elif options["verbosity"] > 0:
            # Said at every `make serve`, so that nothing said is no doubt whether a model is served.
            self.stdout.write(f"{version.name} is already the active model version; nothing to do")
