"""Storage: the model versions and every prediction with its drawing."""

from __future__ import annotations

import contextlib
import logging
import uuid
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_slug
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from mlcore import checkpoint
from mlcore.labels import LABELS, NOT_A_DIGIT, label_name
from mlcore.predict import Predictor, margin, top3

from .deadline import check as check_deadline
from .templatetags.figures import percent

logger = logging.getLogger(__name__)

DIGIT_VALIDATORS = [MinValueValidator(0), MaxValueValidator(9)]
# A label is a digit 0-9, or NOT_A_DIGIT (10) for a drawing that is not one digit.
LABEL_VALIDATORS = [MinValueValidator(0), MaxValueValidator(NOT_A_DIGIT)]
LABEL_CHOICES = [(label, label_name(label)) for label in LABELS]
# Below this lead of the likeliest digit over the second, a drawing is doubtful: the review queue shows it
# before the confident ones. Part of the definition of the column Prediction.tier: changing it takes a
# migration that drops and adds the column again, which Django does not write itself.
REVIEW_DOUBT_MARGIN = 0.5


def input_from_bytes(stored: bytes) -> np.ndarray:
    """A stored 28x28 model input (784 bytes) as a uint8 array."""
    return np.frombuffer(bytes(stored), dtype=np.uint8).reshape(28, 28)


class ModelUnavailable(Exception):
    """A model version cannot be loaded or served; the message says why and what to do."""


def check_version_name(name: str) -> None:
    """ValueError unless `name` may name a model version: the slug its field holds (register() bypasses
    form validation)."""
    try:
        validate_slug(name)
    except ValidationError:
        raise ValueError(f"{name!r} cannot name a model version: use letters, digits, hyphens and underscores "
                         "(--name, or another file name)") from None
    if len(name) > ModelVersion._meta.get_field("name").max_length:
        raise ValueError(f"{name!r} cannot name a model version: it is longer than "
                         f"{ModelVersion._meta.get_field('name').max_length} characters")


class StorageUnavailable(Exception):
    """A drawing's file could not be written or read (a full disk, a folder that cannot be written, a storage
    gone): nothing was stored."""


class ModelVersionManager(models.Manager):
    def active(self) -> "ModelVersion | None":
        """The served version, or None; never creates one (`manage.py bootstrap_model` does that)."""
        return self.filter(is_active=True).first()

    def register(self, path: str | Path, name: str | None = None, activate: bool = False,
                 reviewed_accuracy: float | None = None, given_as: str = "") -> "ModelVersion":
        """Record a checkpoint as a version after checking that it loads; with `activate`, serve it at once,
        past no release gate (`release.activate` is the gated way). `given_as`: what named the path."""
        path = Path(path).resolve()
        name = name or path.stem
        try:
            check_version_name(name)
        except ValueError as exc:
            raise ModelUnavailable(str(exc)) from None
        try:
            _, metadata = checkpoint.load(path, given_as)
        except checkpoint.CheckpointError as exc:
            raise ModelUnavailable(str(exc)) from None
        models_dir = Path(settings.MODELS_DIR).resolve()
        stored_path = str(path.relative_to(models_dir)) if path.is_relative_to(models_dir) else str(path)
        version = self.create(
            name=name, path=stored_path, sha256=checkpoint.file_sha256(path),
            params=metadata["params"], mnist_accuracy=checkpoint.mnist_accuracy(metadata),
            reviewed_accuracy=reviewed_accuracy, metadata=metadata)
        if activate:
            version.make_active()
        return version

    def bootstrap(self, path: str | Path, given_as: str = "") -> tuple["ModelVersion", bool, bool]:
        """On a database with no active version, serve the checkpoint at path: registered, unless a version of
        its name is already, and activated. Returns the active version, whether this call registered it and
        whether it activated it; does nothing when one is active.

        A version of its name that serves another file, or whose file no longer loads, is refused
        (ModelUnavailable): activated unchecked, it was served in the place of the checkpoint configured.
        `given_as`: what named the path, as for `register`."""
        version = self.active()
        if version is not None:
            return version, False, False
        name = Path(path).stem
        version = self.filter(name=name).first()
        if version is None:
            try:
                return self.register(path, activate=True, given_as=given_as), True, True
            except IntegrityError:
                # Another process registered it at the same moment, and may not have activated it yet.
                version = self.get(name=name)
        if version.file_path.resolve() != Path(path).resolve():
            raise ModelUnavailable(f"a model version named {name!r} already serves {version.file_path}, not {path}; "
                                   "activate one with `manage.py activate_model`")
        version.verify()
        version.make_active()
        return version, False, True


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
    forced_by = models.CharField(max_length=150, blank=True, editable=False,
                                 help_text="Who activated it past the release gate, if anyone.")
    forced_at = models.DateTimeField(null=True, blank=True, editable=False)
    forced_comparison = models.JSONField(null=True, blank=True, editable=False,
                                         help_text="The gate's comparison it was activated against.")

    objects = ModelVersionManager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True),
                                               name="one_active_model_version")]

    def __str__(self):
        return self.name

    @property
    def stamp(self) -> tuple[int, str, str]:
        """What tells this version's model from another's: its id, name and file's SHA-256."""
        return self.pk, self.name, self.sha256

    @property
    def file_path(self) -> Path:
        path = Path(self.path)
        return path if path.is_absolute() else settings.MODELS_DIR / path

    def load(self) -> Predictor:
        """A Predictor of this version's file, refused when the file is missing, changed or damaged."""
        path = self.file_path
        try:
            actual = checkpoint.file_sha256(path)
        except OSError:
            raise ModelUnavailable(f"model file {path} of version {self.name!r} is missing") from None
        if actual != self.sha256:
            raise ModelUnavailable(f"model file {path} changed since version {self.name!r} was registered "
                                   f"(SHA-256 {actual[:12]}, expected {self.sha256[:12]}); register it anew")
        try:
            predictor = Predictor.from_checkpoint(path)
        except checkpoint.CheckpointError as exc:
            raise ModelUnavailable(str(exc)) from None
        return predictor

    def verify(self) -> None:
        """Raise ModelUnavailable unless this version loads; run before it can become what workers serve."""
        self.load()

    def unloadable(self) -> str | None:
        """Why this version cannot be loaded, or None when it can. An active one that cannot is compared with
        nothing: the site answers 503 until another is activated, and a gate that loads it refused them all."""
        try:
            self.verify()
        except ModelUnavailable as exc:
            return str(exc)
        return None

    def make_active(self) -> None:
        """Serve this version from now on: workers notice on their next request. `release.activate` runs the
        release gate first; this is the switch alone."""
        with transaction.atomic():
            # Locked first, in a statement of its own: the update then reads the active version as it is once
            # a concurrent activation has committed, and does not leave that one active beside this.
            list(ModelVersion.objects.select_for_update().filter(is_active=True).values_list("pk", flat=True))
            ModelVersion.objects.filter(is_active=True).exclude(pk=self.pk).update(is_active=False)
            self.is_active = True
            self.save(update_fields=["is_active", "forced_by", "forced_at", "forced_comparison"])


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

    def with_secret(self, secret_hash: str):
        # SQLite reads the partial index one_record_per_secret only for a query that repeats its condition;
        # without it, and with the default order, it scanned every row.
        return self.filter(secret_hash=secret_hash).exclude(secret_hash="").order_by()


class Prediction(models.Model):
    class Redrawn(Exception):
        """The drawing changed since the version a label (the drawer's or a reviewer's) was given for."""

    class Source(models.TextChoices):
        CANVAS = "canvas", "Canvas"
        UPLOAD = "upload", "Upload"
        API = "api", "API"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed: a drawing's file is served only while a row holds it (recognizer.views.drawing).
    image = models.FileField(upload_to=drawing_path, max_length=200, db_index=True)
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
    updated_at = models.DateTimeField(help_text="When the drawing was last changed; the creation time until then.")
    revision = models.PositiveIntegerField(default=0, help_text="How many times the drawing was changed.")
    strokes = models.JSONField(null=True, blank=True, editable=False,
                               help_text="The strokes as drawn (see recognizer/strokes.py); none for an image upload.")
    reported_label = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=LABEL_VALIDATORS, choices=LABEL_CHOICES,
        help_text="What the drawer says they meant: a digit, or 10 for not a digit.")
    true_label = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=LABEL_VALIDATORS, choices=LABEL_CHOICES,
        help_text="What a reviewer confirmed: a digit, or 10 for not a digit.")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, editable=False,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    secret_hash = models.CharField(max_length=64, default="", blank=True, editable=False,
                                   help_text="SHA-256 of the secret its creator holds (recognizer.access).")
    margin = models.FloatField(editable=False, db_index=True, default=1.0,
                               help_text="Lead of the likeliest digit over the second; 0 when the answer is "
                                         "'not a digit'. The review queue shows small margins first.")

    class Tier(models.IntegerChoices):
        DISPUTED = 0, "disputed"
        DOUBTFUL = 1, "doubtful"
        CONFIDENT = 2, "confident"

    # Stored, so that an index gives the review queue its order (recognizer/review/queue.py). A generated
    # column cannot read another on PostgreSQL, hence the answered label spelled out.
    tier = models.GeneratedField(
        expression=models.Case(
            models.When(models.Q(reported_label__isnull=False)
                        & ~models.Q(reported_label=Coalesce("digit", models.Value(NOT_A_DIGIT))),
                        then=models.Value(Tier.DISPUTED)),
            models.When(margin__lt=REVIEW_DOUBT_MARGIN, then=models.Value(Tier.DOUBTFUL)),
            default=models.Value(Tier.CONFIDENT)),
        output_field=models.PositiveSmallIntegerField(), db_persist=True)

    objects = PredictionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # The review queue reads its next drawings off this index in order and counts the labelled ones in it;
        # beside an index of true_label alone, SQLite took that one and sorted every unreviewed row.
        indexes = [models.Index(fields=["true_label", "tier", "-created_at", "id"], name="review_queue_order"),
                   # The admin's list of the unreviewed (or reviewed) drawings, newest first: SQLite sorted them all.
                   models.Index(fields=["true_label", "-created_at", "-id"], name="review_list_order"),
                   # The reviewed ones, and the wrongly answered among them: SQLite read every row to count them.
                   models.Index(fields=["-created_at", "-id"], condition=models.Q(true_label__isnull=False),
                                name="reviewed_list_order")]
        # A secret given by an idempotency key (recognizer.access) names one record: a request sent again finds it.
        constraints = [models.UniqueConstraint(fields=["secret_hash"], condition=~models.Q(secret_hash=""),
                                               name="one_record_per_secret")]

    def save(self, *args, **kwargs):
        # Derived here, so every writer (the API, updates in place, the admin) keeps it in step. "Not a digit"
        # stands between no two digits: a margin of 0 puts it among the doubtful, early in the review queue.
        self.margin = 0.0 if self.digit is None else margin(self.probabilities)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "probabilities" in update_fields:
            kwargs["update_fields"] = {*update_fields, "margin"}
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{label_name(self.answered_label)} ({percent(self.confidence)}%) {self.id}"

    @property
    def top3(self) -> list[dict]:
        return top3(self.probabilities)

    @property
    def is_correct(self) -> bool | None:
        return None if self.true_label is None else self.true_label == self.answered_label

    @property
    def input_array(self) -> np.ndarray:
        return input_from_bytes(self.mnist_input)

    @classmethod
    def record(cls, *, image_bytes: bytes, extension: str, mnist_input: np.ndarray, answer,
               model_version: ModelVersion, source: str, secret_hash: str,
               strokes: list | None = None, deadline: float | None = None) -> "Prediction":
        """Store a new drawing: its file and its row together; if either fails, neither remains.
        Past the `deadline` (`recognizer.deadline`) it fails with TooLate."""
        row = cls(source=source, created_at=timezone.now(), secret_hash=secret_hash)
        row._store(image_bytes, extension, mnist_input, answer, model_version, strokes, deadline)
        return row

    def redraw(self, *, image_bytes: bytes, extension: str, mnist_input: np.ndarray, answer,
               model_version: ModelVersion, strokes: list | None = None, deadline: float | None = None) -> None:
        """Make this record describe a newer version of its drawing, as a new revision, with no label:
        the drawer's and the reviewers' were given to the older version.

        If anything fails, the row and its file stay as they were; the file it replaces is
        removed only once the change is committed. Raises Prediction.DoesNotExist when the
        row was deleted meanwhile, and TooLate past the `deadline`.
        """
        self._store(image_bytes, extension, mnist_input, answer, model_version, strokes, deadline)

    def holds(self, image_bytes: bytes, strokes: list | None) -> bool:
        """Whether this record's drawing is already this one: the same strokes, or the same image."""
        if strokes is not None or self.strokes is not None:
            return strokes == self.strokes
        try:
            if self.image.size != len(image_bytes):
                return False
            with self.image.open("rb") as stored:
                return stored.read() == image_bytes
        except FileNotFoundError:
            # Replaced or deleted since this row was read: storing over it finds out which.
            return False
        except OSError as exc:
            raise StorageUnavailable(f"the drawing's file could not be read: {exc}") from exc

    def report(self, label: int, revision: int | None = None) -> None:
        """Record what the drawer says they meant, of the drawing's `revision` when given. Raises
        Prediction.DoesNotExist when the row was deleted meanwhile, Prediction.Redrawn when the drawing
        is no longer that revision: the label was meant for a drawing the record no longer holds."""
        version = {} if revision is None else {"revision": revision}
        if not Prediction.objects.filter(pk=self.pk, **version).update(reported_label=label):
            if Prediction.objects.filter(pk=self.pk).exists():
                raise Prediction.Redrawn
            raise Prediction.DoesNotExist
        self.reported_label = label

    def discard(self) -> None:
        """Delete the row and its drawing file: the file it holds when deleted, which a concurrent
        update may have replaced since this instance was read. Raises Prediction.DoesNotExist when
        the row was deleted meanwhile."""
        with transaction.atomic():
            # Locked like an update's row, so the two happen one after the other.
            self.image.name = Prediction.objects.select_for_update().values_list("image", flat=True).get(pk=self.pk)
            self.delete()

    def _store(self, image_bytes, extension, mnist_input, answer, model_version, strokes, deadline):
        inserting = self._state.adding
        self.mnist_input = np.round(mnist_input * 255).astype(np.uint8).tobytes()
        self.digit, self.confidence, self.probabilities = answer.digit, answer.confidence, answer.probabilities
        self.model_version = model_version
        self.strokes = strokes
        self.updated_at = self.created_at if inserting else timezone.now()
        storage = self.image.storage
        # Named before it is written: a write that fails half-way (a full disk) leaves its part
        # under this fresh random name, to delete.
        written = self.image.field.generate_filename(self, f"drawing.{extension}")
        try:
            try:
                written = storage.save(written, ContentFile(image_bytes), max_length=self.image.field.max_length)
            except OSError as exc:
                raise StorageUnavailable(f"the drawing's file could not be written: {exc}") from exc
            self.image = written
            with transaction.atomic():
                if inserting:
                    self.save(force_insert=True)
                else:
                    # Locked, so that of two concurrent updates each removes the file the other replaced.
                    replaced, revision = (Prediction.objects.select_for_update()
                                          .values_list("image", "revision").get(pk=self.pk))
                    self.revision = revision + 1
                    # Each was said of the older drawing: a half-drawn 4 labelled "not a digit" must not
                    # train the model once it is a 4. The drawing goes back to the review queue.
                    self.reported_label = self.true_label = self.reviewed_by = self.reviewed_at = None
                    self.save(update_fields=[*REDRAWN_FIELDS, *LABEL_FIELDS, "revision"])
                    # An update, unlike an insert, does not bring back what the database derived from the answer.
                    self.refresh_from_db(fields=["answered_label", "tier"])
                    SecondOpinion.objects.filter(prediction=self).delete()
                    # Robust: a file that cannot be removed is no reason to fail a stored change.
                    transaction.on_commit(lambda: storage.delete(replaced), robust=True)
                # Last, as late before the commit as can be: writing the file and the row may have waited.
                check_deadline(deadline)
        except BaseException:
            # The storage's own failure may stop the part being deleted too: `delete_orphan_drawings` finds it.
            with contextlib.suppress(OSError):
                storage.delete(written)
            raise


LABEL_FIELDS = ["reported_label", "true_label", "reviewed_by", "reviewed_at"]
REDRAWN_FIELDS = ["image", "mnist_input", "digit", "confidence", "probabilities", "model_version", "strokes",
                  "updated_at"]


class RateWindow(models.Model):
    """How many times one client was counted in one window of one limit: its writes, its new drawings
    or its sign-in attempts (`recognizer.throttles`)."""

    ident = models.CharField(max_length=100)
    # The column keeps the field's first name: servers upgraded one at a time share it (migration 0014).
    window_end = models.BigIntegerField(db_column="period", db_index=True,
                                        help_text="When the window ends, in seconds since the epoch.")
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ident", "window_end"], name="one_count_per_client_period")]


class ReviewLease(models.Model):
    """A reviewer is looking at a drawing: nobody else is given it until the lease is released or runs out."""

    prediction = models.OneToOneField(Prediction, on_delete=models.CASCADE, primary_key=True,
                                      related_name="lease")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    # Which load of the queue page holds it (its own random name): a reloaded page takes its drawing back,
    # and the release the page sent as it left, arriving after that, must not let it go.
    page = models.CharField(max_length=32, blank=True, default="")


class SecondOpinion(models.Model):
    """A labelled drawing chosen to be labelled again, blind, by a different reviewer."""

    prediction = models.OneToOneField(Prediction, on_delete=models.CASCADE, related_name="second_opinion")
    first_reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                       related_name="+")
    first_label = models.PositiveSmallIntegerField()
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    label = models.PositiveSmallIntegerField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
