"""The process-wide Predictor of the active model version, loaded once and reused.

Each gunicorn worker keeps its own loaded model; which version is active lives in the
database, so every worker compares that cheap stamp per request and reloads when it changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection
from django.urls import resolve

from mlcore.predict import Predictor

from . import access
from .imaging import DecodedImage
from .models import ModelUnavailable, ModelVersion, Prediction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    version: ModelVersion
    predictor: Predictor


_loaded: LoadedModel | None = None
_lock = threading.Lock()
# Reviewers look at drawings older versions answered, most of the backlog once another is active:
# their models are loaded once too, the few last asked for kept.
RETIRED_KEPT = 2
_retired: OrderedDict[tuple[int, str, str], Predictor] = OrderedDict()


def active_version() -> ModelVersion:
    version = ModelVersion.objects.active()
    if version is None:
        raise ModelUnavailable("no model version is active; run `manage.py bootstrap_model` "
                               "(part of `make setup`) or `manage.py activate_model NAME`")
    return version


def active_stamp() -> tuple[int, str, str] | None:
    """The active version's `stamp` (id, name, SHA-256), or None when there is none.

    This runs on every request, so it is one indexed lookup in plain SQL, without building a
    model instance; whatever changes the active version or its file changes the stamp.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, name, sha256 FROM {ModelVersion._meta.db_table} WHERE is_active = %s", [True])
        row = cursor.fetchone()
    return None if row is None else tuple(row)


# How long a worker that could not load the active version waits before trying again.
RETRY_SECONDS = 10.0


@dataclass(frozen=True)
class LoadFailure:
    """An active version this process could not load: why, and when it may try again."""

    stamp: tuple[int, str, str]
    reason: str
    retry_at: float


_unloadable: LoadFailure | None = None


def get_predictor() -> tuple[ModelVersion, Predictor]:
    """The active version and its loaded Predictor, reloaded only when the active version changed.

    A version this process cannot load (its file is missing on this server, or damaged) leaves the
    one loaded before it served, said in the log once and by /healthz (`serves_active`), and tried
    again every RETRY_SECONDS: else every drawing on this server was a 503 until the file came. A
    process with none loaded before answers ModelUnavailable, from the last try until the next."""
    global _loaded, _unloadable
    loaded = _loaded
    if loaded is None or loaded.version.stamp != active_stamp():
        with _lock:
            version = active_version()
            if _loaded is None or _loaded.version.stamp != version.stamp:
                failed = _unloadable if _unloadable is not None and _unloadable.stamp == version.stamp else None
                if failed is None or time.monotonic() >= failed.retry_at:
                    try:
                        _loaded, _unloadable = LoadedModel(version, load_predictor(version)), None
                    except ModelUnavailable as exc:
                        if failed is None:
                            serving = "answering 503" if _loaded is None else f"still serving {_loaded.version.name}"
                            logger.error("cannot load the active model version %s, %s: %s", version.name, serving,
                                         exc)
                        failed = _unloadable = LoadFailure(version.stamp, str(exc),
                                                           time.monotonic() + RETRY_SECONDS)
                if _loaded is None:
                    raise ModelUnavailable(failed.reason)
            loaded = _loaded
    return loaded.version, loaded.predictor


def serves_active() -> bool:
    """Whether this process serves the active version (not one it had before the active one failed to load)."""
    return _loaded is not None and _loaded.version.stamp == active_stamp()


def predictor_of(version: ModelVersion) -> Predictor:
    """The loaded Predictor of `version`, whether it is the active one or not."""
    active, predictor = get_predictor()
    stamp = version.stamp
    if active.pk == version.pk:
        return predictor
    with _lock:
        predictor = _retired.get(stamp)
        if predictor is None:
            predictor = _retired[stamp] = load_predictor(version)
            while len(_retired) > RETIRED_KEPT:
                _retired.popitem(last=False)
        _retired.move_to_end(stamp)
    return predictor


def load_predictor(version: ModelVersion) -> Predictor:
    predictor = version.load()
    logger.info("loaded model version %s from %s", version.name, version.file_path)
    return predictor


def likeliest_digit(readings: np.ndarray, first: int | None = None) -> int:
    """Which of a photo's (N, 28, 28) readings (`mlcore.photo.readings`) the active model finds likeliest one digit
    (`Predictor.likeliest_digit`)."""
    return get_predictor()[1].likeliest_digit(readings, first)


def recognize(drawing: DecodedImage, mnist_input: np.ndarray, source: str, strokes: list | None = None,
              deadline: float | None = None, idempotency_key: str | None = None) -> Prediction:
    """Run the active model on a normalised drawing; store the drawing, its input and the answer,
    unless the `deadline` (`recognizer.deadline`) has passed.

    The row's `secret` attribute holds its owner secret, which exists only in this answer. With an
    `idempotency_key` no record of which exists yet (`access.sent_before`), a try of the same request
    that stored its record meanwhile is redrawn instead; the row's `created` attribute says which happened."""
    secret, secret_hash = access.new_secret(idempotency_key)
    try:
        row = Prediction.record(source=source, secret_hash=secret_hash,
                                **answered(drawing, mnist_input, strokes, deadline))
        row.created = True
    except IntegrityError:
        # Only a try of this request, stored a moment before, is its record; another integrity error (a
        # model version deleted meanwhile) is no "the drawing was deleted".
        row = Prediction.objects.with_secret(secret_hash).first() if idempotency_key else None
        if row is None:
            raise
        redraw(row, drawing, mnist_input, strokes, deadline)
        row.created = False
    row.secret = secret
    return row


def redraw(prediction: Prediction, drawing: DecodedImage, mnist_input: np.ndarray,
           strokes: list | None = None, deadline: float | None = None) -> None:
    """Run the active model on a newer version of a stored drawing, and store it over the old one,
    unless the `deadline` has passed; a drawing the record holds already is left as it is."""
    if not prediction.holds(drawing.content, strokes):
        prediction.redraw(**answered(drawing, mnist_input, strokes, deadline))


def answered(drawing: DecodedImage, mnist_input: np.ndarray, strokes: list | None, deadline: float | None) -> dict:
    """A drawing and the active model's answer, as Prediction.record and Prediction.redraw store them."""
    version, predictor = get_predictor()
    return {"image_bytes": drawing.content, "extension": drawing.extension, "mnist_input": mnist_input,
            "answer": predictor.predict(mnist_input), "model_version": version, "strokes": strokes,
            "deadline": deadline}


# A 1, drawn on the canvas: what a serving process reads once as it starts.
FIRST_DRAWING = [{"pointer": "mouse", "points": [[0.5, 0.2, 0, 0.5], [0.5, 0.8, 100, 0.5]]}]


def warm_up() -> None:
    """Set up a serving process: torch on INFERENCE_THREADS, the active model loaded, and one drawing
    read as the API reads one (FIRST_DRAWING), so that a broken model shows in the log at start-up and
    the first person to draw does not wait for what a process does once: the model's load, the URLs',
    DRF's and SciPy's imports and torch's first pass, 0.7 s on two cores."""
    # Per process, not per load: a command that loads a model (the system check does) keeps its cores.
    torch.set_num_threads(settings.INFERENCE_THREADS)
    try:
        version, predictor = get_predictor()
    except (ModelUnavailable, DatabaseError) as exc:
        logger.error("the model could not be loaded; /healthz answers 503 until it can: %s", exc)
        return
    resolve("/")  # imports the URLconf, and with it the views
    from .serializers import PredictionSerializer  # it imports this module
    drawing = PredictionSerializer(data={"strokes": FIRST_DRAWING, "source": Prediction.Source.CANVAS})
    drawing.is_valid(raise_exception=True)
    predictor.predict(drawing.validated_data["mnist_input"])
    logger.info("serving model version %s", version.name)
