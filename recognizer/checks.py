"""A system check that says at start-up when the model that will be served cannot be loaded."""

from django.conf import settings
from django.core.checks import Warning, register
from django.db import DatabaseError

from mlcore import checkpoint


@register()
def served_model_check(app_configs, **kwargs):
    from .models import ModelUnavailable, ModelVersion
    try:
        version = ModelVersion.objects.active()
    except DatabaseError:
        # Not migrated yet: `make setup` migrates, then bootstraps MNIST_MODEL_PATH.
        version = None
    try:
        if version is not None:
            version.verify()
        else:
            checkpoint.load(settings.MNIST_MODEL_PATH, "MNIST_MODEL_PATH")
    except (ModelUnavailable, checkpoint.CheckpointError) as exc:
        if version is not None:
            served = f"active version {version.name!r}"
            # bootstrap_model does nothing while a version is active.
            remedy = "Activate a version that loads (`manage.py activate_model NAME_OR_CHECKPOINT`)"
        else:
            served = "MNIST_MODEL_PATH, which bootstrap_model serves"
            remedy = "Set MNIST_MODEL_PATH to a checkpoint made by `manage.py train` and run `manage.py bootstrap_model`"
        return [Warning(f"The model cannot be loaded ({served}): {exc}",
                        hint=f"{remedy}; until then predictions and /healthz answer 503.", id="recognizer.W001")]
    return []
