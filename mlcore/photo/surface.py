"""What in a photo is the surface the digit is written on: a finger holding the paper down, the
ink's polarity, and the background (lighting, shadows, glare) divided out (steps 1 to 3 of
`mlcore.photo`)."""

from __future__ import annotations

import itertools

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import reconstruction

from .marks import MIN_INK, bar_width

# Shadows are reconstructed at this fraction of the working resolution.
COARSE = 4
# Light ink (chalk) is looked for only on a surface darker than this where it is lit (at this
# percentile of the frame, so a shadow or a dim side cannot make paper look dark), and assumed
# on one darker than a board's.
LIT_PERCENTILE = 98
DARK_SURFACE = 0.5
BOARD = 0.35
# Which of light and dark marks stand out is judged on marks this many times narrower than the
# background's window: strokes, not the gaps between a stroke and a bright patch of the frame.
MARK_WINDOWS = 3
# Glare may wash this much of the paper to white before the ink left under it is too faint to tell
# from noise.
MAX_VEIL = 0.75
# A flash's reflection clips towards white: its blob is glare down to GLARE_EDGE of the way from
# the paper to white where it reaches GLARE_CORE of the way from the paper where the frame is lit
# to white; the paper's texture and a lighting ramp towards the frame's edge lift the background
# above its opening by a fraction of that, and lit paper between two shadows not at all.
GLARE_CORE = 0.5
GLARE_EDGE = 0.1
# A flash's glare is narrower than this many background windows, so the paper around it is the
# background opened that wide.
GLARE_WINDOWS = 2
# Skin is warmer than the paper around it, its colour divided by the paper's (a closing
# SKIN_WINDOW of the frame's short side wide: wider than a writing hand's palm, so that a lamp's
# warm light falling on part of the page is paper too): red exceeds blue by SKIN_WARMTH of red, and
# green lies between them, at SKIN_HUE of the way from blue to red (skin measured 0.3 to 0.4; a red
# pen's green is as low as its blue, a yellow note's as high as its red). A region of it at least
# FINGER_WIDTH of the short side wide is a finger where it enters from the frame's border: a
# fingertip, 15 to 20 mm, is wider than that in a frame showing a handwritten digit and the paper
# round it, a pen's stroke and a punched hole (6 mm) narrower (the probe's fingers measured 0.10 to
# 0.17 of the short side, its holes cut by the border at most 0.083). Its shadow beside it is set
# aside too, SKIN_SHADOW of the short side.
SKIN_WINDOW = 1 / 2
SKIN_WARMTH = 0.1
SKIN_HUE = (0.1, 0.7)
FINGER_WIDTH = 1 / 11
SKIN_SHADOW = 1 / 32
# A finger crosses the frame's border once, over at most this many times its width (its width
# where it enters square to the border, twice where it enters at 30 degrees to it); the paper's
# edge, a desk seen beyond it or a column of punched holes runs along the border.
FINGER_CROSSING = 2
# Paper is most of a photo, and a digit draws no two long straight bands alike side by side. Where the background
# leaves more than SHADOW_INK_SHARE of the frame as ink, and among it two straight bands (`marks.bar_width`) at
# least SHADOW_BAND_LENGTH of the short side long and SHADOW_BAND_WIDTH pixels wide, as wide as each other within
# ALIKE, parallel within PARALLEL degrees and at most SHADOW_PERIOD widths apart (a blind's slats shade a third to
# two thirds of the paper, so its stripes lie 1.5 to 3 widths apart; a ruled page's lines, close up as wide as
# these, lay more than 8 apart in the tests'), its window is wider than the stripes of shadow a window blind casts
# (a grille, a railing), and took them for ink: it is halved until it does not, down to MIN_WINDOW, twice as wide as
# a thick pen's stroke at the working resolution. Chosen on 120 photos of training digits under blinds, 14 of them
# read right before: among shares of 0.1 to 0.2, floors of 4 and 6 pixels, and bands of any width (70 read right),
# alike (65) or alike and close (60): of any width, a pen and its shadow beside a digit were stripes too; alike, a
# ruled page close up. None of the fifth audit's 520 photos is striped so, nor any of 800 synthetic photos and
# photographed non-digits.
SHADOW_INK_SHARE = 0.1
SHADOW_BAND_LENGTH = 0.3
SHADOW_BAND_WIDTH = 3.5
ALIKE = 1.2
PARALLEL = 10
SHADOW_PERIOD = 6
MIN_WINDOW = 6
# On paper, a blind's stripes are divided out along their length before the window is narrowed: a line this share of
# the frame's short side long through each pixel along the stripes stays in one stripe, and is longer than a digit's
# strokes along them. Of 60 photos of training digits under blinds (`under_window_blinds`), narrowing alone read 31
# right, a line of 0.3 or 0.5 of the short side 48, one of 0.8 (as long as a stroke of a digit filling the sheet) 38.
STRIPE_LINE = 0.5


def covered(colour: Image.Image, shape: tuple[int, int]) -> np.ndarray | None:
    """Where a finger holding the paper down covers the RGB photo at the working `shape`, with its
    shadow beside it, or None where nothing does. Found at a COARSE fraction of the working
    resolution: a finger is tens of pixels wide there."""
    height, width = shape
    pixels = np.asarray(colour.resize((max(1, width // COARSE), max(1, height // COARSE)), Image.Resampling.BOX),
                        dtype=np.float32) / 255
    finger = fingers(skin_of(pixels))
    if not finger.any():
        return None
    shadow = max(1, round(SKIN_SHADOW * min(finger.shape)))
    finger = ndimage.binary_dilation(finger, structure=np.ones((2 * shadow + 1, 2 * shadow + 1)))
    return enlarged(finger.astype(np.float32), shape) > 0.5


def skin_of(pixels: np.ndarray) -> np.ndarray:
    """Where the (height, width, 3) photo is warmer than the paper around it, as skin is: each
    colour divided by the paper's (a closing SKIN_WINDOW of the short side wide), red above
    green above blue."""
    window = max(3, round(SKIN_WINDOW * min(pixels.shape[:2])))
    paper = ndimage.grey_closing(pixels, size=(window, window, 1), mode="nearest")
    red, green, blue = np.moveaxis(pixels / np.maximum(paper, 1e-3), -1, 0)
    warmth = red - blue
    low, high = SKIN_HUE
    return (warmth > SKIN_WARMTH * red) & (green - blue > low * warmth) & (green - blue < high * warmth)


def fingers(skin: np.ndarray) -> np.ndarray:
    """The regions of `skin` that are fingers: at least FINGER_WIDTH of the frame's short side
    wide, crossing the frame's border once and there about as wide as they are (a sheet's edge, the
    desk beyond it or a column of punched holes runs along the border); their narrower tips
    included."""
    pieces, count = ndimage.label(skin, structure=np.ones((3, 3)))
    border = np.ones_like(skin)
    border[1:-1, 1:-1] = False
    runs, run_count = ndimage.label(skin & border, structure=np.ones((3, 3)))
    if run_count == 0:
        return np.zeros_like(skin)
    crossings = np.bincount(ndimage.maximum(pieces, runs, np.arange(1, run_count + 1)).astype(int),
                            minlength=count + 1)[1:]
    labels = np.arange(1, count + 1)
    crossed = ndimage.sum_labels(border, pieces, labels)
    width = 2 * ndimage.maximum(ndimage.distance_transform_edt(skin), pieces, labels)
    finger = (crossings == 1) & (width >= FINGER_WIDTH * min(skin.shape)) & (crossed <= FINGER_CROSSING * width)
    return np.isin(pieces, labels[finger])


def ink_polarities(grey: np.ndarray, window: int) -> tuple[bool, ...]:
    """Whether the ink is light (chalk on a board) for each polarity the photo may have, the
    likelier first: one where it is clear, both where the surface and the marks may disagree.

    The surface is judged where it is lit, its light marks removed: paper and whiteboards are
    bright there however deep a shadow or a gradient darkens the rest, a blackboard stays dark.
    Between the two, the ink is on the side whose marks stand out more; where the lit part lies
    on a frame mostly as dark as a board, that side is read first and the other too.
    """
    opening = ndimage.grey_opening(grey, size=window, mode="nearest")
    lit = float(np.percentile(opening, LIT_PERCENTILE))
    mostly_dark = float(np.median(opening)) < BOARD
    if lit >= DARK_SURFACE and not mostly_dark:
        return (False,)
    light_stands_out = light_ink_stands_out(grey, max(3, window // MARK_WINDOWS))
    if lit >= BOARD and mostly_dark:
        # A lit part on a frame mostly as dark as a board is a bright patch beside it, or light
        # strokes as wide as the window (a close-up of chalk, a white digit on black), whose
        # narrow gaps then stand out as dark marks: both are read.
        return (light_stands_out, not light_stands_out)
    if lit >= BOARD or light_stands_out:
        return (light_stands_out,)
    # A surface this dark where it is lit is a blackboard, between whose thick chalk strokes
    # the board itself looks like dark marks, or paper in a dim room, whose pen's marks are
    # dark: only the digit each reading finds tells them apart.
    return (True, False)


def dark_ink_surface(grey: np.ndarray, window: int, light_ink: bool) -> tuple[np.ndarray, np.ndarray]:
    """The photo with its ink darker than the surface (inverted when the ink is light, chalk),
    and its background: a closing (the largest value nearby, then the smallest), which removes
    dark marks thinner than its window and keeps everything wider, shadow edges included."""
    surface = 1 - grey if light_ink else grey
    return surface, ndimage.grey_closing(surface, size=window, mode="nearest")


def stand_out(marks: np.ndarray) -> float:
    """How much the marks exceed the noise: their total above the noise floor."""
    floor = 3 * float(np.median(marks[::4, ::4])) + MIN_INK / 2
    return float(np.clip(marks - floor, 0, None).sum())


def light_ink_stands_out(grey: np.ndarray, window: int) -> bool:
    """Whether light marks stand out more than dark ones, both thinner than `window`: narrower
    than the background's window, so a strip of board between the digit and a bright wall
    is not taken for a dark mark."""
    light = grey - ndimage.grey_opening(grey, size=window, mode="nearest")
    dark = ndimage.grey_closing(grey, size=window, mode="nearest") - grey
    return stand_out(light) > stand_out(dark)


def flattened(surface: np.ndarray, background: np.ndarray, veil: np.ndarray | float = 0.0) -> np.ndarray:
    """Ink strength in [0, 1]: the surface divided by its background, less the share `veil` of
    it that is glare (white light over paper and ink alike, which the ink cannot darken)."""
    return np.clip((background - surface) / np.maximum(background - veil, 1e-3), 0, 1)


def glare_veil(background: np.ndarray, window: int) -> np.ndarray:
    """How much of the background is glare: a flash's reflection mixes the surface towards
    white, background = paper * (1 - veil) + veil, in a bright blob narrower than `window`, on
    paper lit as the background's opening (its bright bumps removed) says. Only blobs at least
    GLARE_CORE of the way from the paper where the frame is lit to white somewhere are glare, down
    to GLARE_EDGE of the way from the paper around them. Capped at MAX_VEIL: where the glare is
    brighter the ink left under it is noise."""
    paper = enlarged(ndimage.grey_opening(reduced(background, COARSE), size=max(3, window // COARSE), mode="nearest"),
                     background.shape)
    veil = np.clip((background - paper) / np.maximum(1 - paper, 1e-3), 0, MAX_VEIL)
    blobs, _ = ndimage.label(veil > GLARE_EDGE)
    lit = float(np.percentile(paper, LIT_PERCENTILE))
    glaring = np.unique(blobs[background - lit >= GLARE_CORE * (1 - lit)])
    return np.where(np.isin(blobs, glaring[glaring > 0]), veil, 0)


def under_glare(background: np.ndarray, closing: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The background with the closing in place of it under a flash's glare, and the glare's veil.

    A stroke the glare lifts above the paper around it is a channel down which the shadow's
    reconstruction flows out of the glare, so that stroke was its own background; the closing
    fills every stroke, and a flash's glare holds no shadow's tip to keep."""
    background = np.where(glare_veil(background, GLARE_WINDOWS * window) > 0, closing, background)
    return background, glare_veil(background, GLARE_WINDOWS * window)


def shadowed_background(surface: np.ndarray, window: int) -> np.ndarray:
    """The background by closing by reconstruction: a dark region (a shadow, a table) wider
    than the window somewhere keeps its whole shape, its narrow tip included, where a plain
    closing would fill the tip and make it ink; strokes, thin everywhere, are removed."""
    coarse = reduced(surface, COARSE)
    marker = ndimage.grey_dilation(coarse, size=max(3, window // COARSE), mode="nearest")
    # By erosion over each pixel's 3x3 square: the marker flows down wherever the surface below lets it.
    return enlarged(reconstruction(marker, coarse, method="erosion"), surface.shape)


def reduced(image: np.ndarray, factor: int) -> np.ndarray:
    """The image `factor` times smaller each way, each pixel the mean of those it covers."""
    height, width = image.shape
    return np.asarray(Image.fromarray(image, mode="F").resize(
        (max(1, width // factor), max(1, height // factor)), Image.Resampling.BOX))


def enlarged(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A reduced image brought back to `shape`, smoothly."""
    height, width = shape
    return np.asarray(Image.fromarray(image, mode="F").resize((width, height), Image.Resampling.BILINEAR))


def lit_background(surface: np.ndarray, closing: np.ndarray, filled: np.ndarray, window: int) -> np.ndarray:
    """The closing, lowered where a shadow reconstructed over `filled` reaches."""
    return np.minimum(closing, np.maximum(shadowed_background(filled, window), surface))


def pens(count: float, pen: float, window: int) -> int:
    """A window `count` pen widths wide, at least 3 pixels and at most the background's."""
    return min(window, max(3, round(count * pen)))


# A long straight band among the ink: its width, its middle and its direction.
Band = tuple[float, np.ndarray, np.ndarray]


def striped(ink: np.ndarray) -> bool:
    """Whether the ink over a background holds stripes of shadow its window was too wide to keep (`stripes_along`)."""
    return stripes_along(ink) is not None


def stripes_along(ink: np.ndarray) -> np.ndarray | None:
    """The direction, a (row, column) unit vector, of the stripes of shadow the ink over a background holds, where
    its window was too wide to keep them: much of the frame (SHADOW_INK_SHARE), and among it two long straight bands
    that are stripes of one blind's shadow; None where it holds none."""
    inked = ink > MIN_INK
    if inked.mean() <= SHADOW_INK_SHARE:
        return None
    marks, _ = ndimage.label(inked, structure=np.ones((3, 3)))
    reach = SHADOW_BAND_LENGTH * min(inked.shape)
    bands = []
    for label, box in enumerate(ndimage.find_objects(marks), 1):
        if np.hypot(box[0].stop - box[0].start, box[1].stop - box[1].start) < reach:
            continue
        band = marks[box] == label
        width = bar_width(band)
        if width is not None and width >= SHADOW_BAND_WIDTH:
            points = np.argwhere(band) + [box[0].start, box[1].start]
            bands.append((width, points.mean(axis=0), np.linalg.eigh(np.cov(points.T))[1][:, 1]))
    return next((one[2] for one, other in itertools.combinations(bands, 2) if stripes_of_one_blind(one, other)), None)


def stripes_of_one_blind(one: Band, other: Band) -> bool:
    """Whether two bands are stripes of one blind's shadow: as wide as each other (ALIKE), parallel (PARALLEL),
    and at most SHADOW_PERIOD widths apart, where ruled lines lie further."""
    (width, middle, along), (other_width, other_middle, other_along) = one, other
    across = np.array([-along[1], along[0]])
    return bool(max(width, other_width) <= ALIKE * min(width, other_width)
                and abs(along @ other_along) >= np.cos(np.radians(PARALLEL))
                and abs((other_middle - middle) @ across) <= SHADOW_PERIOD * (width + other_width) / 2)


def without_stripes(grey: np.ndarray, along: np.ndarray) -> np.ndarray:
    """The paper's greyscale with a blind's stripes of shadow running `along` divided out: each pixel over the
    brightest of a line STRIPE_LINE of the short side long through it along the stripes (a closing), which stays
    in one stripe, lit or shaded, where a digit's strokes are shorter, at the lit paper's level (LIT_PERCENTILE)."""
    background = closed_along(grey, np.arctan2(along[0], along[1]), round(STRIPE_LINE * min(grey.shape)))
    lit = np.percentile(grey, LIT_PERCENTILE)
    return (np.clip(grey / np.maximum(background, 1e-3), 0, 1) * lit).astype(np.float32)


def closed_along(grey: np.ndarray, angle: float, length: int) -> np.ndarray:
    """The greyscale closed by a digital line `length` pixels long at `angle` radians from the horizontal (rows down):
    each column shifted so that the line lies along a row (a shear, exact to the pixel, where rotating the image
    blurred the stripes' sharp edges), closed along the rows, and shifted back. A line nearer the columns is
    closed in the transposed image."""
    if abs(np.sin(angle)) > abs(np.cos(angle)):
        return closed_along(grey.T, np.pi / 2 - angle, length).T
    height, width = grey.shape
    columns = np.arange(width)
    shift = np.round(columns * np.tan(angle)).astype(int)
    rows = np.arange(-shift.max(), height - shift.min())
    sheared = grey[np.clip(rows[:, np.newaxis] + shift, 0, height - 1), columns]
    closed = ndimage.grey_closing(sheared, size=(1, max(1, length)), mode="nearest")
    return closed[np.arange(height)[:, np.newaxis] - shift + shift.max(), columns]
