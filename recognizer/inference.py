"""The process-wide Predictor of the active model version, loaded once and reused.

Each gunicorn worker keeps its own loaded model; which version is active lives in the
database, so every worker compares that cheap stamp per request and reloads when it changed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction

from mlcore import checkpoint
from mlcore.predict import Predictor

from .models import ModelVersion

logger = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    """The active model cannot be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class LoadedModel:
    version_id: int
    sha256: str
    predictor: Predictor


_loaded: LoadedModel | None = None
_lock = threading.Lock()


def register(path: str | Path, name: str | None = None, activate: bool = False,
             reviewed_accuracy: float | None = None) -> ModelVersion:
    """Record a checkpoint as a ModelVersion, after checking that it loads."""
    path = Path(path).resolve()
    try:
        model, metadata = checkpoint.load(path)
    except checkpoint.CheckpointError as exc:
        raise ModelUnavailable(str(exc)) from None
    models_dir = Path(settings.MODELS_DIR).resolve()
    stored_path = str(path.relative_to(models_dir)) if path.is_relative_to(models_dir) else str(path)
    with transaction.atomic():
        version = ModelVersion.objects.create(
            name=name or path.stem, path=stored_path, sha256=checkpoint.file_sha256(path),
            params=metadata["params"], mnist_accuracy=metadata["test_accuracy"],
            reviewed_accuracy=reviewed_accuracy, metadata=metadata)
        if activate:
            version.activate()
    return version


def active_version() -> ModelVersion:
    """The active version; on a fresh database, the checkpoint at MNIST_MODEL_PATH becomes it."""
    # Runs on every request: skip decoding the metadata JSON, which nothing here reads.
    version = ModelVersion.objects.defer("metadata").filter(is_active=True).first()
    if version is not None:
        return version
    try:
        return register(settings.MNIST_MODEL_PATH, activate=True)
    except IntegrityError:
        # Another worker registered it first.
        version = ModelVersion.objects.filter(is_active=True).first()
        if version is None:
            raise ModelUnavailable("no model version is active; run `manage.py activate_model NAME`") from None
        return version


def get_predictor() -> tuple[ModelVersion, Predictor]:
    global _loaded
    version = active_version()
    loaded = _loaded
    if loaded is None or loaded.version_id != version.pk or loaded.sha256 != version.sha256:
        with _lock:
            if _loaded is None or _loaded.version_id != version.pk or _loaded.sha256 != version.sha256:
                _loaded = LoadedModel(version.pk, version.sha256, load_predictor(version))
            loaded = _loaded
    return version, loaded.predictor


def load_predictor(version: ModelVersion) -> Predictor:
    path = version.file_path
    try:
        actual = checkpoint.file_sha256(path)
    except OSError:
        raise ModelUnavailable(f"model file {path} of version {version.name!r} is missing") from None
    if actual != version.sha256:
        raise ModelUnavailable(f"model file {path} changed since version {version.name!r} was registered "
                               f"(SHA-256 {actual[:12]}, expected {version.sha256[:12]}); register it anew")
    try:
        predictor = Predictor.from_checkpoint(path)
    except checkpoint.CheckpointError as exc:
        raise ModelUnavailable(str(exc)) from None
    torch.set_num_threads(settings.INFERENCE_THREADS)
    logger.info("loaded model version %s from %s", version.name, path)
    return predictor


def warm_up() -> None:
    """Load the active model now, so a broken model shows in the log at start-up."""
    try:
        version, _ = get_predictor()
    except (ModelUnavailable, DatabaseError) as exc:
        logger.error("the model could not be loaded; /healthz answers 503 until it can: %s", exc)
    else:
        logger.info("serving model version %s", version.name)
