from django.core.management.base import BaseCommand, CommandError

from ...inference import ModelUnavailable, load_predictor
from ...models import ModelVersion


class Command(BaseCommand):
    help = "Serve another registered model version; every worker switches on its next request."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the model version's name (see the admin, or `manage.py train`)")

    def handle(self, *args, **options):
        name = options["name"]
        try:
            version = ModelVersion.objects.get(name=name)
        except ModelVersion.DoesNotExist:
            known = ", ".join(ModelVersion.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(f"no model version named {name!r}; known versions: {known or 'none'}") from None
        # Loading first means a missing, changed or damaged file never becomes what every worker serves.
        try:
            load_predictor(version)
        except ModelUnavailable as exc:
            raise CommandError(f"refusing to activate {name}: {exc}") from None
        if version.is_active:
            self.stdout.write(f"{name} is already the active model version")
            return
        version.activate()
        self.stdout.write(self.style.SUCCESS(
            f"activated {name} (MNIST test accuracy {version.mnist_accuracy:.4f}); "
            f"workers switch to it on their next request"))
