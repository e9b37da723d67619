"""A screenshot of a photo: the photos it shows, cut out of the app shown around them.

A phone's gallery or chat shows the photo on the app's flat tone (black in a dark theme), with a
status bar, buttons, captions and chat bubbles around it. Read whole, the bright photo on a dark
app was taken for light ink on a dark board, and the app's text and icons for marks beside the
digit. An app's tone is flat, as no camera's surface is: where two opposite sides of the image's
border, or its top, are nearly all of one tone, each large region of other tones with straight sides is what the
app shows. A chat's photo sits in a bubble of another flat tone: the bubble is cut out first, then
the photo within it. A chat's wallpaper, cut out whole between its header and its message bar, may fade
from tone to tone or carry thin doodles: within it, the tone may change along the border, and thin marks
are no region.

A flat rectangle is not always the photo: a box drawn beside a digit, a polaroid's snapshot with the
digit written on its frame, a link's card above the photo. So the photos cut out are readings to
weigh beside the image whole (`mlcore.photo.readings`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from ..preprocess import SMALLEST_PHOTO, box_of, without_transparency

# The image is judged at a whole fraction of its size, its long side at least this: a phone's
# screenshot is 1080x2400, the photo in it hundreds of pixels.
JUDGED_SIDE = 480
# An app's tone: a pixel within this much of the border's median in each channel (JPEG's ringing
# and a screenshot's dithering stay within it; a camera's noise and lighting across a surface do not).
APP_TONE = 0.03
# A side of the border is the app's where this share of its pixels is of its tone.
FLAT_BORDER = 0.9
# A photo shown spans at least this share of the screenshot's short side each way (a chat's small
# photo is a seventh of a phone screenshot's height). Of each of its sides, EDGE judged pixels in
# (past a JPEG's ringing round it), at least STRAIGHT_SIDE lies on its region: a small bubble's
# rounded corners take a quarter of its sides.
PHOTO_SIDE = 0.15
EDGE = 3
STRAIGHT_SIDE = 0.7
# The largest regions weighed as photos (an album's grid of four, a link's card and its photo), each cut out
# of up to NESTED rectangles (a chat's photo lies in a bubble, which lies on the app).
MOST_SHOWN = 4
NESTED = 3
# Of the regions, the largest this many are tried: the rest are an app's text and icons.
REGIONS_TRIED = 8
# On a chat's wallpaper, marks of other tones thinner than this many judged pixels are its doodles.
THINNEST = 5


def shown_photos(image: Image.Image) -> list[Image.Image]:
    """The photos a screenshot shows, the largest first, each without the app around it; none where
    the image is no screenshot of a photo."""
    factor, pixels = judged(image)

    def cut(box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
        """The judged box, EDGE pixels inside its sides (past a JPEG's ringing round it), in the image's
        pixels; None where that is smaller than any photo (rectangles nested in rectangles)."""
        top, left, bottom, right = (box[0] + EDGE, box[1] + EDGE, box[2] - EDGE, box[3] - EDGE)
        cut = (factor * left, factor * top, min(image.width, factor * right), min(image.height, factor * bottom))
        return cut if min(cut[2] - cut[0], cut[3] - cut[1]) >= SMALLEST_PHOTO else None

    cuts = []
    for box in rectangles(pixels)[:MOST_SHOWN]:
        for _ in range(NESTED - 1):
            # A pixel in: the region's outermost pixels are blended with the app's tone round it.
            top, left, bottom, right = (box[0] + 1, box[1] + 1, box[2] - 1, box[3] - 1)
            inner = rectangles(pixels[top:bottom, left:right], wallpaper=True)
            if not inner:
                break
            nested = (top + inner[0][0], left + inner[0][1], top + inner[0][2], left + inner[0][3])
            if cut(nested) is None:
                break
            box = nested
        shown = cut(box)
        if shown is not None:
            cuts.append(image.crop(shown))
    return cuts


def judged(image: Image.Image) -> tuple[int, np.ndarray]:
    """How many times smaller the image is judged, and its (height, width, 3) pixels in [0, 1] so, a
    transparent pixel painted as its paper."""
    factor = max(1, max(image.size) // JUDGED_SIDE)
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        small = image.reduce(factor) if factor > 1 else image
    else:
        # A palette's, a 1-bit scan's or a CMYK JPEG's pixels, converted whole, cost a tenth of a second:
        # sampled first. Sampling keeps a flat tone flat.
        small = image.resize((-(-image.width // factor), -(-image.height // factor)), Image.Resampling.NEAREST)
        small = small.convert("RGBA" if small.has_transparency_data else "RGB")
    return factor, np.asarray(without_transparency(small).convert("RGB"), dtype=np.float32) / 255


def rectangles(pixels: np.ndarray, wallpaper: bool = False) -> list[tuple[int, int, int, int]]:
    """The (top, left, bottom, right) of the regions of the (height, width, 3) pixels the app's flat
    tone surrounds that are large and straight-sided, the largest first; none where no side of the
    border is an app's (`app_tone`). The pixels of a region already cut out may be a chat's
    `wallpaper`: its tone may fade along it, and where no region is found, its doodles, marks thinner
    than THINNEST, are no region."""
    if min(pixels.shape[:2]) < 4 * EDGE:
        return []
    app = app_tone(pixels, graded=wallpaper)
    if app is None:
        return []
    found = straight_sided(~app)
    if not found and wallpaper:
        # Only where nothing else is found: a bubble's thin padding round a photo of the wallpaper's tone
        # is no more than a doodle's line either.
        found = straight_sided(ndimage.binary_opening(~app, np.ones((THINNEST, THINNEST), dtype=bool)))
    return found


def straight_sided(shown: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The (top, left, bottom, right) of the regions of the (height, width) mask that are large and
    straight-sided, the largest first."""
    height, width = shown.shape
    labels, _ = ndimage.label(shown)
    found = []
    for label in 1 + np.argsort(-np.bincount(labels.ravel())[1:], kind="stable")[:REGIONS_TRIED]:
        # Not ndimage.find_objects: it makes a box for every label below this one, and a camera's photo of a
        # flat sheet is thousands of regions of grain (eight searches cost 0.4 s).
        within = labels == label
        rows, cols = box_of(within)
        if min(rows.stop - rows.start, cols.stop - cols.start) < max(PHOTO_SIDE * min(height, width), 4 * EDGE):
            continue
        region = ndimage.binary_fill_holes(within[rows, cols])
        sides = (region[EDGE], region[-1 - EDGE], region[:, EDGE], region[:, -1 - EDGE])
        if min(side.mean() for side in sides) >= STRAIGHT_SIDE:
            found.append((rows.start, cols.start, rows.stop, cols.stop))
            if len(found) == MOST_SHOWN:
                break
    return found


def app_tone(pixels: np.ndarray, graded: bool = False) -> np.ndarray | None:
    """Where the (height, width, 3) image is of its app's tone: the tone of two opposite sides of its
    border (a photo shown the width of a phone's screen runs to its sides, one the height of a
    landscape screen to its top and bottom), or of its top, the status bar's (a keyboard open below a
    chat, another tone, runs to the bottom and up the sides); None where none is of one flat tone.
    If `graded`, and no two sides are of one flat tone, the two sides' tone may change along them, as
    a chat's wallpaper fades from its header to its message bar."""
    top_bottom, left_right = pixels[[0, -1]], pixels[:, [0, -1]]
    tones = [(sides, np.median(sides.reshape(-1, 3), axis=0)) for sides in (top_bottom, left_right)]
    if graded:
        tones += [(top_bottom, top_bottom.mean(axis=0, keepdims=True)),
                  (left_right, left_right.mean(axis=1, keepdims=True))]
    for sides, tone in tones + [(pixels[0], np.median(pixels[0], axis=0))]:
        if np.mean(np.all(np.abs(sides - tone) <= APP_TONE, axis=-1)) >= FLAT_BORDER:
            return np.all(np.abs(pixels - tone) <= APP_TONE, axis=-1)
    return None
