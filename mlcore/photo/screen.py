"""A screenshot of a photo: the photo cut out of the app shown around it.

A phone's gallery or chat shows the photo on the app's flat tone (black in a dark theme), with a
status bar, buttons, captions and chat bubbles around it. Read whole, the bright photo on a dark
app was taken for light ink on a dark board, and the app's text and icons for marks beside the
digit. An app's tone is flat, as no camera's surface is: where two opposite sides of the image's
border are nearly all of one tone and the largest region of other tones is a rectangle with straight
sides, that rectangle is what the app shows. A chat's photo sits in a bubble of another flat tone: the bubble is cut out
first, then the photo within it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from ..preprocess import SMALLEST_PHOTO, without_transparency

# The image is judged at a whole fraction of its size, its long side at least this: a phone's
# screenshot is 1080x2400, the photo in it hundreds of pixels.
JUDGED_SIDE = 480
# An app's tone: a pixel within this much of the border's median in each channel (JPEG's ringing
# and a screenshot's dithering stay within it; a camera's noise and lighting across a surface do not).
APP_TONE = 0.03
# Two opposite sides of the border are the app's where this share of their pixels is of its tone.
FLAT_BORDER = 0.9
# The photo shown spans at least this share of the screenshot's width and of its height, and of
# each straight side at least STRAIGHT_SIDE lies on its region (a bubble's rounded corners do not).
PHOTO_SIDE = 0.15
STRAIGHT_SIDE = 0.85
# A chat's photo lies in a bubble, which lies on the app: cut out at most this many times.
NESTED = 3


def shown_photo(image: Image.Image) -> Image.Image:
    """The photo a screenshot shows, without the app around it; the image itself where it is no
    screenshot of a photo."""
    for _ in range(NESTED):
        box = photo_box(image)
        if box is None:
            break
        image = image.crop(box)
    return image


def photo_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The (left, top, right, bottom) of the rectangle the app's flat tone surrounds, in the image's
    pixels, a judged pixel inside its edges; None where the image's border is not one flat tone or
    no such rectangle is in it."""
    factor = max(1, max(image.size) // JUDGED_SIDE)
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    # Reduced first: a 48-megapixel PNG converted whole cost a tenth of a second.
    judged = without_transparency(image.reduce(factor) if factor > 1 else image).convert("RGB")
    pixels = np.asarray(judged, dtype=np.float32) / 255
    height, width = pixels.shape[:2]
    if min(height, width) < 8:
        return None
    app = app_tone(pixels)
    if app is None:
        return None
    labels, count = ndimage.label(~app)
    if count == 0:
        return None
    largest = 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    rows, cols = ndimage.find_objects(labels)[largest - 1]
    region = ndimage.binary_fill_holes(labels[rows, cols] == largest)
    if region.shape[0] < PHOTO_SIDE * height or region.shape[1] < PHOTO_SIDE * width or min(region.shape) < 8:
        return None
    sides = (region[1], region[-2], region[:, 1], region[:, -2])
    if min(side.mean() for side in sides) < STRAIGHT_SIDE:
        return None
    box = (factor * (cols.start + 1), factor * (rows.start + 1),
           min(image.width, factor * (cols.stop - 1)), min(image.height, factor * (rows.stop - 1)))
    # Rectangles nested in rectangles are cut no smaller than any photo.
    if min(box[2] - box[0], box[3] - box[1]) < SMALLEST_PHOTO:
        return None
    return box


def app_tone(pixels: np.ndarray) -> np.ndarray | None:
    """Where the (height, width, 3) image is of its app's tone, the tone of two opposite sides of its
    border (a photo shown the width of a phone's screen runs to its sides, one the height of a
    landscape screen to its top and bottom); None where neither pair is of one flat tone."""
    for first, second in ((pixels[0], pixels[-1]), (pixels[:, 0], pixels[:, -1])):
        border = np.concatenate([first, second])
        tone = np.median(border, axis=0)
        if np.mean(np.all(np.abs(border - tone) <= APP_TONE, axis=1)) >= FLAT_BORDER:
            return np.all(np.abs(pixels - tone) <= APP_TONE, axis=2)
    return None
