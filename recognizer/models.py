"""Storage: the model versions and every prediction with its drawing."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.utils import timezone

from mlcore.predict import top3

DIGIT_VALIDATORS = [MinValueValidator(0), MaxValueValidator(9)]


def input_from_bytes(stored: bytes) -> np.ndarray:
    """A stored 28x28 model input (784 bytes) as a uint8 array."""
    return np.frombuffer(bytes(stored), dtype=np.uint8).reshape(28, 28)


class ModelVersion(models.Model):
    """One trained checkpoint the site can serve; exactly one is active at a time."""

    name = models.SlugField(max_length=80, unique=True)
    path = models.CharField(max_length=500, help_text="Checkpoint file, absolute or relative to MODELS_DIR.")
    sha256 = models.CharField(max_length=64)
    params = models.PositiveIntegerField()
    mnist_accuracy = models.FloatField(help_text="Accuracy on the 10,000 MNIST test images.")
    reviewed_accuracy = models.FloatField(null=True, blank=True,
                                          help_text="Accuracy on held-out reviewed drawings, when measured.")
    metadata = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True),
                                               name="one_active_model_version")]

    def __str__(self):
        return self.name

    @property
    def file_path(self) -> Path:
        path = Path(self.path)
        return path if path.is_absolute() else settings.MODELS_DIR / path

    def activate(self):
        """Make this the served version; workers notice on their next request."""
        with transaction.atomic():
            ModelVersion.objects.filter(is_active=True).exclude(pk=self.pk).update(is_active=False)
            ModelVersion.objects.filter(pk=self.pk).update(is_active=True)
        self.is_active = True


def drawing_path(prediction: "Prediction", filename: str) -> str:
    # The name never comes from the client: a random hex name, the extension of the decoded format.
    extension = filename.rsplit(".", 1)[-1]
    return f"drawings/{prediction.created_at:%Y/%m}/{uuid.uuid4().hex}.{extension}"


class PredictionQuerySet(models.QuerySet):
    def reviewed(self):
        return self.filter(true_label__isnull=False)

    def unreviewed(self):
        return self.filter(true_label__isnull=True)

    def wrong(self):
        return self.reviewed().exclude(true_label=models.F("digit"))


class Prediction(models.Model):
    class Source(models.TextChoices):
        CANVAS = "canvas", "Canvas"
        UPLOAD = "upload", "Upload"
        API = "api", "API"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.FileField(upload_to=drawing_path, max_length=200)
    mnist_input = models.BinaryField(help_text="The normalised 28x28 input, 784 bytes of grey levels.")
    digit = models.PositiveSmallIntegerField(validators=DIGIT_VALIDATORS, db_index=True)
    confidence = models.FloatField()
    probabilities = models.JSONField()
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="predictions")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(help_text="When the drawing was last changed; the creation time until then.")
    revision = models.PositiveIntegerField(default=0, help_text="How many times the drawing was changed.")
    strokes = models.JSONField(null=True, blank=True, editable=False,
                               help_text="The strokes as drawn (see recognizer/strokes.py); none for an image upload.")
    reported_label = models.PositiveSmallIntegerField(null=True, blank=True, validators=DIGIT_VALIDATORS,
                                                      help_text="The digit the drawer says they meant.")
    true_label = models.PositiveSmallIntegerField(null=True, blank=True, validators=DIGIT_VALIDATORS,
                                                  db_index=True, help_text="The digit a reviewer confirmed.")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, editable=False,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    secret_hash = models.CharField(max_length=64, default="", blank=True, editable=False,
                                   help_text="SHA-256 of the secret its creator holds (recognizer.access).")

    objects = PredictionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.digit} ({self.confidence:.0%}) {self.id}"

    @property
    def top3(self) -> list[dict]:
        return top3(self.probabilities)

    @property
    def is_correct(self) -> bool | None:
        return None if self.true_label is None else self.true_label == self.digit

    @property
    def input_array(self) -> np.ndarray:
        return input_from_bytes(self.mnist_input)

    @classmethod
    def record(cls, *, image_bytes: bytes, extension: str, mnist_input: np.ndarray, prediction,
               model_version: ModelVersion, source: str, secret_hash: str,
               strokes: list | None = None) -> "Prediction":
        """Store a new drawing: its file and its row together; if either fails, neither remains."""
        row = cls(source=source, created_at=timezone.now(), secret_hash=secret_hash)
        row._store(image_bytes, extension, mnist_input, prediction, model_version, strokes)
        return row

    def redraw(self, *, image_bytes: bytes, extension: str, mnist_input: np.ndarray, prediction,
               model_version: ModelVersion, strokes: list | None = None) -> None:
        """Make this record describe a newer version of its drawing, as a new revision.

        If anything fails, the row and its file stay as they were; the file it replaces is
        removed only once the change is committed. Raises Prediction.DoesNotExist when the
        row was deleted meanwhile.
        """
        self._store(image_bytes, extension, mnist_input, prediction, model_version, strokes)

    def _store(self, image_bytes, extension, mnist_input, answer, model_version, strokes):
        inserting = self._state.adding
        self.mnist_input = np.round(mnist_input * 255).astype(np.uint8).tobytes()
        self.digit, self.confidence, self.probabilities = answer.digit, answer.confidence, answer.probabilities
        self.model_version = model_version
        self.strokes = strokes
        self.updated_at = self.created_at if inserting else timezone.now()
        self.image.save(f"drawing.{extension}", ContentFile(image_bytes), save=False)
        storage, written = self.image.storage, self.image.name
        try:
            with transaction.atomic():
                if inserting:
                    self.save(force_insert=True)
                else:
                    # Locked, so that of two concurrent updates each removes the file the other replaced.
                    replaced, revision = (Prediction.objects.select_for_update()
                                          .values_list("image", "revision").get(pk=self.pk))
                    self.revision = revision + 1
                    self.save(update_fields=[*REDRAWN_FIELDS, "revision"])
                    transaction.on_commit(lambda: storage.delete(replaced))
        except BaseException:
            storage.delete(written)
            raise


REDRAWN_FIELDS = ["image", "mnist_input", "digit", "confidence", "probabilities", "model_version", "strokes",
                  "updated_at"]


class RateWindow(models.Model):
    """How many predictions one client asked for in one window of the rate limit."""

    ident = models.CharField(max_length=100)
    period = models.BigIntegerField(db_index=True, help_text="Which window: rate periods since the epoch.")
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ident", "period"], name="one_count_per_client_period")]
