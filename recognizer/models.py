"""Storage: the model versions and every prediction with its drawing."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from mlcore.labels import LABELS, NOT_A_DIGIT, label_name
from mlcore.predict import top3

DIGIT_VALIDATORS = [MinValueValidator(0), MaxValueValidator(9)]
# A label is a digit 0-9, or NOT_A_DIGIT (10) for a drawing that is not one digit.
LABEL_VALIDATORS = [MinValueValidator(0), MaxValueValidator(NOT_A_DIGIT)]
LABEL_CHOICES = [(label, label_name(label)) for label in LABELS]


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
        return self.reviewed().exclude(true_label=models.F("answered_label"))


class Prediction(models.Model):
    class Source(models.TextChoices):
        CANVAS = "canvas", "Canvas"
        UPLOAD = "upload", "Upload"
        API = "api", "API"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.FileField(upload_to=drawing_path, max_length=200)
    mnist_input = models.BinaryField(help_text="The normalised 28x28 input, 784 bytes of grey levels.")
    digit = models.PositiveSmallIntegerField(validators=DIGIT_VALIDATORS, db_index=True, null=True,
                                             help_text="The recognised digit; empty when the drawing is not a digit.")
    # The answer as a label, so it compares with the labels people give: the digit, or 10 for none.
    answered_label = models.GeneratedField(expression=Coalesce("digit", models.Value(NOT_A_DIGIT)),
                                           output_field=models.PositiveSmallIntegerField(), db_persist=True)
    confidence = models.FloatField()
    probabilities = models.JSONField()
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="predictions")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    created_at = models.DateTimeField(db_index=True)
    reported_label = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=LABEL_VALIDATORS, choices=LABEL_CHOICES,
        help_text="What the drawer says they meant: a digit, or 10 for not a digit.")
    true_label = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=LABEL_VALIDATORS, choices=LABEL_CHOICES, db_index=True,
        help_text="What a reviewer confirmed: a digit, or 10 for not a digit.")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, editable=False,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = PredictionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{label_name(self.label)} ({self.confidence:.0%}) {self.id}"

    @property
    def label(self) -> int:
        """The answer as a label: the digit, or NOT_A_DIGIT."""
        return NOT_A_DIGIT if self.digit is None else self.digit

    @property
    def top3(self) -> list[dict]:
        return top3(self.probabilities)

    @property
    def is_correct(self) -> bool | None:
        return None if self.true_label is None else self.true_label == self.label

    @property
    def input_array(self) -> np.ndarray:
        return input_from_bytes(self.mnist_input)

    @classmethod
    def record(cls, *, image_bytes: bytes, extension: str, mnist_input: np.ndarray, answer,
               model_version: ModelVersion, source: str) -> "Prediction":
        """Store the drawing file and its row together: if either fails, neither remains."""
        row = cls(
            mnist_input=np.round(mnist_input * 255).astype(np.uint8).tobytes(),
            digit=answer.digit, confidence=answer.confidence,
            probabilities=answer.probabilities, model_version=model_version,
            source=source, created_at=timezone.now(),
        )
        row.image.save(f"drawing.{extension}", ContentFile(image_bytes), save=False)
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except BaseException:
            row.image.storage.delete(row.image.name)
            raise
        return row


class RateWindow(models.Model):
    """How many predictions one client asked for in one window of the rate limit."""

    ident = models.CharField(max_length=100)
    period = models.BigIntegerField(db_index=True, help_text="Which window: rate periods since the epoch.")
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ident", "period"], name="one_count_per_client_period")]
