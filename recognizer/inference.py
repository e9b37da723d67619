"""The process-wide Predictor of the active model version, loaded once and reused.

Each gunicorn worker keeps its own loaded model; which version is active lives in the
database, so every worker compares that cheap stamp per request and reloads when it changed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction

from mlcore import checkpoint
from mlcore.predict import Predictor

from .imaging import DecodedImage
from .models import ModelVersion, Prediction

logger = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    """The active model cannot be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class LoadedModel:
    version: ModelVersion
    predictor: Predictor

    @property
    def stamp(self) -> tuple[int, str, str]:
        return self.version.pk, self.version.name, self.version.sha256


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
    version = ModelVersion.objects.filter(is_active=True).first()
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


def active_stamp() -> tuple[int, str, str] | None:
    """(id, name, SHA-256) of the active version, or None when there is none.

    This runs on every request, so it is one indexed lookup in plain SQL, without building a
    model instance; whatever changes the active version or its file changes the stamp.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, name, sha256 FROM {ModelVersion._meta.db_table} WHERE is_active = %s", [True])
        row = cursor.fetchone()
    return None if row is None else tuple(row)


def get_predictor() -> tuple[ModelVersion, Predictor]:
    """The active version and its loaded Predictor, reloaded only when the active version changed."""
    global _loaded
    loaded = _loaded
    if loaded is None or loaded.stamp != active_stamp():
        with _lock:
            version = active_version()
            if _loaded is None or _loaded.stamp != (version.pk, version.name, version.sha256):
                _loaded = LoadedModel(version, load_predictor(version))
            loaded = _loaded
    return loaded.version, loaded.predictor


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


def recognize(drawing: DecodedImage, mnist_input: np.ndarray, source: str) -> Prediction:
    """Run the active model on a normalised drawing; store the drawing, its input and the answer."""
    version, predictor = get_predictor()
    return Prediction.record(image_bytes=drawing.content, extension=drawing.extension, mnist_input=mnist_input,
                             answer=predictor.predict(mnist_input), model_version=version, source=source)


def warm_up() -> None:
    """Load the active model now, so a broken model shows in the log at start-up."""
    try:
        version, _ = get_predictor()
    except (ModelUnavailable, DatabaseError) as exc:
        logger.error("the model could not be loaded; /healthz answers 503 until it can: %s", exc)
    else:
        logger.info("serving model version %s", version.name)
