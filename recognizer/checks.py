"""System checks that say before serving what would fail: the model that will be served cannot be loaded, or
(`check --deploy`) the static files were not collected for DEBUG off."""

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import Error, Warning, register
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


@register(deploy=True)
def collected_static_files_check(app_configs, **kwargs):
    """With DEBUG off, a page names each static file by the hashed name `collectstatic` wrote in its manifest:
    one missing there (never collected, collected with DEBUG on, as `make setup` does, or before the file was
    added) made every page naming it a 500."""
    if not isinstance(staticfiles_storage, ManifestFilesMixin):  # DEBUG on: files served as they are
        return []
    try:
        collected, _ = staticfiles_storage.load_manifest()
    except ValueError:  # a manifest Django cannot read: as good as none
        collected = {}
    ignored = apps.get_app_config("staticfiles").ignore_patterns
    missing = sorted({path for finder in finders.get_finders() for path, _ in finder.list(ignored)} - set(collected))
    if not missing:
        return []
    manifest = Path(settings.STATIC_ROOT) / staticfiles_storage.manifest_name
    return [Error(f"{len(missing)} static files have no entry in {manifest} (the first: {missing[0]}): every page "
                  f"naming one answers 500",
                  hint="Run `manage.py collectstatic` with DEBUG off, as gunicorn will run, and restart the servers "
                       "(`make production` does both).", id="recognizer.E001")]
