"""Decoding what a client sends into a checked PIL image; every failure is a clear ImageRejected."""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image

# File extension by decoded format. Pillow's JPEG reader calls a JPEG holding several pictures
# (as some phone cameras write) MPO; its first picture is the one read.
FORMATS = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg"}
DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(;[\w-]+=[\w.-]+)*(?P<b64>;base64)?,", re.ASCII)


class ImageRejected(ValueError):
    """The upload is not an image this site can read; the message tells the client why."""


@dataclass(frozen=True)
class DecodedImage:
    content: bytes
    extension: str
    image: Image.Image


def from_data_url(text: str) -> bytes:
    """The bytes of a `data:image/png;base64,...` URL or of bare base64."""
    match = DATA_URL.match(text)
    if match:
        if not match.group("b64"):
            raise ImageRejected("the data URL is not base64-encoded; send data:image/png;base64,...")
        text = text[match.end():]
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ImageRejected("the image is not valid base64") from None


def decode(content: bytes) -> DecodedImage:
    """Open PNG or JPEG bytes, enforcing the byte and pixel limits before decoding pixels."""
    if not content:
        raise ImageRejected("the image is empty")
    if len(content) > settings.MAX_IMAGE_BYTES:
        raise ImageRejected(f"the image is {len(content):,} bytes; the limit is {settings.MAX_IMAGE_BYTES:,}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content), formats=["PNG", "JPEG"])
    except Image.UnidentifiedImageError:
        raise ImageRejected("the file is not a PNG or JPEG image") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejected(f"the image has too many pixels; each side must be at most {settings.MAX_IMAGE_SIDE}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"the image could not be read: {exc}") from None
    width, height = image.size
    low, high = settings.MIN_IMAGE_SIDE, settings.MAX_IMAGE_SIDE
    if not (low <= width <= high and low <= height <= high):
        raise ImageRejected(f"the image is {width}x{height} pixels; each side must be {low} to {high}")
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRejected(f"the image is truncated or corrupt: {exc}") from None
    return DecodedImage(content, FORMATS[image.format], image)
