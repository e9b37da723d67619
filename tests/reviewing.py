"""Making predictions the way the site does, and the people who review them, for the review tests."""

from __future__ import annotations

import numpy as np
from django.contrib.auth.models import Permission
from PIL import Image

from mlcore.preprocess import to_mnist_input
from recognizer import imaging
from recognizer.inference import recognize, redraw
from recognizer.models import Prediction

from .drawings import png

PASSWORD = "a-reviewer's-password-7"


def record_drawing(digit: np.ndarray, source: str = Prediction.Source.CANVAS) -> Prediction:
    """A 28x28 MNIST digit drawn on a canvas, then the steps of POST /api/predictions/ without the HTTP:
    decode, normalise, predict with the active model, store file and row."""
    drawing = imaging.decode(png(digit))
    return recognize(drawing, to_mnist_input(drawing.image), source)


def redraw_as(row: Prediction, digit: np.ndarray) -> None:
    """The drawer's page sends a newer version of the drawing: the steps of PUT /api/predictions/{id}/."""
    drawing = imaging.decode(png(digit))
    redraw(row, drawing, to_mnist_input(drawing.image))


def rotated(digit: np.ndarray, degrees: float) -> np.ndarray:
    """A digit written at a slant the MNIST-trained model has not seen."""
    image = Image.fromarray(digit).rotate(degrees, resample=Image.Resampling.BILINEAR, expand=True)
    return np.asarray(image)


def make_user(django_user_model, username: str, *, staff: bool, permissions: tuple[str, ...] = ()):
    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=staff)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="recognizer",
                                                        codename__in=permissions))
    return user


REVIEWER_PERMISSIONS = ("view_prediction", "change_prediction", "delete_prediction",
                        "view_modelversion", "change_modelversion")
