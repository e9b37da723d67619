from django.apps import AppConfig


class RecognizerConfig(AppConfig):
    name = "recognizer"
    verbose_name = "Digit recognizer"

    def ready(self):
        from . import checks, signals  # noqa: F401 - registers the system checks and the file cleanup
