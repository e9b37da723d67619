"""Running the active model version on drawings, and storing what it answers.

Each process keeps the models it loaded in `model_cache` (ModelCache).
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

# How long a process that could not load the active version waits before trying again.
RETRY_SECONDS = 10.0
# Reviewers look at drawings older versions answered, most of the backlog once another is active:
# their models are loaded once too, the few last asked for kept.
RETIRED_KEPT = 2


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


@dataclass(frozen=True)
class LoadedModel:
    version: ModelVersion
    predictor: Predictor


@dataclass(frozen=True)
class LoadFailure:
    """An active version this process could not load: why, and when it may try again."""

    stamp: tuple[int, str, str]
    reason: str
    retry_at: float


def load_predictor(version: ModelVersion) -> Predictor:
    predictor = version.load()
    logger.info("loaded model version %s from %s", version.name, version.file_path)
    return predictor


class ModelCache:
    """The models one process has loaded: the active version's, and those of the few older versions last
    asked for.

    Per process on purpose: which version is active lives in the database, and each gunicorn worker loads
    its own model, compares the active version's cheap `stamp` on every request and reloads when it changed.

    A version this process cannot load (its file is missing on this server, or damaged) leaves the one
    loaded before it serving, said in the log once and by /healthz (`serves_active`), and is tried again
    every RETRY_SECONDS: else every drawing on this server was a 503 until the file came. A process with
    none loaded before answers ModelUnavailable, from the last try until the next.
    """

    def __init__(self):
        self.loaded: LoadedModel | None = None
        self.unloadable: LoadFailure | None = None
        self.retired: OrderedDict[tuple[int, str, str], Predictor] = OrderedDict()
        self.lock = threading.Lock()

    def current(self) -> LoadedModel:
        """The active version and its loaded Predictor, reloaded only when the active version changed."""
        loaded = self.loaded
        if loaded is not None and loaded.version.stamp == active_stamp():
            return loaded
        with self.lock:
            version = active_version()
            if self.loaded is None or self.loaded.version.stamp != version.stamp:
                self._reload(version)
            if self.loaded is None:
                raise ModelUnavailable(self.unloadable.reason)
            return self.loaded

    def _reload(self, version: ModelVersion) -> None:
        """Load `version` in place of the model loaded, unless it failed to load less than RETRY_SECONDS ago."""
        failed = self.unloadable if self.unloadable is not None and self.unloadable.stamp == version.stamp else None
        if failed is not None and time.monotonic() < failed.retry_at:
            return
        try:
            self.loaded, self.unloadable = LoadedModel(version, load_predictor(version)), None
        except ModelUnavailable as exc:
            if failed is None:
                serving = "answering 503" if self.loaded is None else f"still serving {self.loaded.version.name}"
                logger.error("cannot load the active model version %s, %s: %s", version.name, serving, exc)
            self.unloadable = LoadFailure(version.stamp, str(exc), time.monotonic() + RETRY_SECONDS)

    def serves_active(self) -> bool:
        """Whether this process serves the active version (not one it had before the active one failed to load)."""
        loaded = self.loaded
        return loaded is not None and loaded.version.stamp == active_stamp()

    def for_version(self, version: ModelVersion) -> Predictor:
        """The loaded Predictor of `version`, whether it is the active one or not."""
        active = self.current()
        if active.version.pk == version.pk:
            return active.predictor
        with self.lock:
            predictor = self.retired.get(version.stamp)
            if predictor is None:
                predictor = self.retired[version.stamp] = load_predictor(version)
                while len(self.retired) > RETIRED_KEPT:
                    self.retired.popitem(last=False)
            self.retired.move_to_end(version.stamp)
        return predictor


model_cache = ModelCache()


def likeliest_digit(readings: np.ndarray, first: int | None = None, screenshot: bool = False) -> int:
    """Which of a photo's (N, 28, 28) readings (`mlcore.photo.readings`) the active model finds likeliest one digit
    (`Predictor.likeliest_digit`)."""
    return model_cache.current().predictor.likeliest_digit(readings, first, screenshot)


def recognize(drawing: DecodedImage, mnist_input: np.ndarray, source: str, photo: bool = False,
              strokes: list | None = None, deadline: float | None = None,
              idempotency_key: str | None = None) -> Prediction:
    """Run the active model on a normalised drawing (a `photo`'s reading, or not); store the drawing, its
    input and the answer, unless the `deadline` (`recognizer.deadline`) has passed.

    The row's `secret` attribute holds its owner secret, which exists only in this answer. With an
    `idempotency_key` no record of which exists yet (`access.sent_before`), a try of the same request
    that stored its record meanwhile is redrawn instead; the row's `created` attribute says which happened."""
    secret, secret_hash = access.new_secret(idempotency_key)
    fields = {"source": source, "secret_hash": secret_hash, **answered(drawing, mnist_input, photo, strokes, deadline)}
    try:
        row = Prediction.record(**fields)
        row.created = True
    except IntegrityError:
        if idempotency_key is None:
            raise
        # Only a try of this request, stored a moment before, is its record.
        row = Prediction.objects.with_secret(secret_hash).first()
        if row is None:
            # That record's owner deleted it meanwhile, so the key names nothing now (as in access.sent_before);
            # another integrity error (a model version deleted meanwhile) fails this insert again.
            row = Prediction.record(**fields)
            row.created = True
        else:
            redraw(row, drawing, mnist_input, photo, strokes, deadline)
            row.created = False
    row.secret = secret
    return row


def redraw(prediction: Prediction, drawing: DecodedImage, mnist_input: np.ndarray, photo: bool = False,
           strokes: list | None = None, deadline: float | None = None) -> None:
    """Run the active model on a newer version of a stored drawing, and store it over the old one,
    unless the `deadline` has passed; a drawing the record holds already is left as it is."""
    if not prediction.holds(drawing.content, strokes):
        prediction.redraw(**answered(drawing, mnist_input, photo, strokes, deadline))


def answered(drawing: DecodedImage, mnist_input: np.ndarray, photo: bool, strokes: list | None,
             deadline: float | None) -> dict:
    """A drawing and the active model's answer, as Prediction.record and Prediction.redraw store them."""
    active = model_cache.current()
    return {"image_bytes": drawing.content, "extension": drawing.extension, "mnist_input": mnist_input,
            "answer": active.predictor.predict(mnist_input, photo), "model_version": active.version, "strokes": strokes,
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
        active = model_cache.current()
    except (ModelUnavailable, DatabaseError) as exc:
        logger.error("the model could not be loaded; /healthz answers 503 until it can: %s", exc)
        return
    resolve("/")  # imports the URLconf, and with it the views
    from .serializers import PredictionSerializer  # it imports this module
    drawing = PredictionSerializer(data={"strokes": FIRST_DRAWING, "source": Prediction.Source.CANVAS})
    drawing.is_valid(raise_exception=True)
    active.predictor.predict(drawing.validated_data["mnist_input"])
    logger.info("serving model version %s", active.version.name)
