"""Small pictures for reviewers: the model's input (a data URI: 784 bytes need no file or view) and saliency."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from mlcore.explain import saliency

from .. import inference
from ..models import Prediction


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def png_data_uri(image: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def input_picture(prediction: Prediction) -> str:
    """The 28x28 input the model saw."""
    return png_data_uri(Image.fromarray(prediction.input_array))


def explained_digit(prediction: Prediction) -> int:
    """The digit the saliency explains: the answer, or the closest digit when the answer was 'not a digit'."""
    return prediction.digit if prediction.digit is not None else prediction.top3[0]["digit"]


def saliency_png(prediction: Prediction) -> bytes:
    """A 28x28 mask of the pixels that pushed the model towards its answer: opaque where they pushed most.

    The page tints and scales it over the input with CSS."""
    model = inference.model_cache.for_version(prediction.model_version).model
    attribution = np.clip(saliency(model, prediction.input_array, explained_digit(prediction)), 0, None)
    peak = attribution.max()
    alpha = np.zeros((28, 28), dtype=np.uint8) if peak <= 0 else np.round(attribution / peak * 255).astype(np.uint8)
    mask = Image.new("LA", (28, 28), 0)
    mask.putalpha(Image.fromarray(alpha))
    return png_bytes(mask)
