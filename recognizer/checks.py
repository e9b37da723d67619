"""A system check that says at start-up when the model file cannot be served."""

from django.conf import settings
from django.core.checks import Warning, register

from mlcore import checkpoint


@register()
def model_file_check(app_configs, **kwargs):
    try:
        checkpoint.load(settings.MNIST_MODEL_PATH)
    except checkpoint.CheckpointError as exc:
        return [Warning(f"The model cannot be loaded: {exc}",
                        hint="Set MNIST_MODEL_PATH to a checkpoint made by `manage.py train`; "
                             "until then predictions and /healthz answer 503.",
                        id="recognizer.W001")]
    return []
