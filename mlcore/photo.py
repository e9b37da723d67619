"""A phone photo of a digit written on paper, a whiteboard or a blackboard to an ink map of the digit.

A photo is not a drawing: its paper is lit unevenly, shadows cross it, the digit is small
somewhere in the frame, and other marks (ruled lines, the paper's edge, specks) are in it too.
So, at a bounded working resolution:

1. turn the pixels upright as the EXIF orientation tag says, and set aside a finger holding
   the paper down, with its shadow: skin is warmer than the paper around it and than ink (red
   above green above blue), a finger wider than a pen's stroke or a punched hole, and it enters
   across the frame's border, which a desk seen beyond the sheet's edge runs along;
2. decide the ink's polarity (dark on paper, light on a dark board) from how bright the surface
   is where it is lit and which side of the local background the strongest marks lie; where
   the two disagree, read the photo both ways;
3. divide out the background (the lighting, shadows and paper colour), estimated by a
   morphological closing, which removes strokes thinner than its window but keeps the steps
   of shadow edges, bounded by a closing by reconstruction, which keeps a shadow's narrow
   tips that the plain closing would fill and call ink; on a second pass, with the pen's
   width measured on the first, the digit's strokes are filled before the reconstruction so
   a shadow cannot flow along them into the lit paper (a shadow's edge crossing the digit
   keeps both halves), and the background is bounded by a closing a few pens wide, so of a
   shadow's tip touching the digit only its apex is left as ink; where a flash's glare lifts
   the background above the paper around it, the background is the plain closing (no shadow
   flows along the strokes the glare lifted), and only the paper's share of it divides the
   ink, which the glare washed out as much as the paper;
4. threshold the flattened ink above the paper's own noise and pick the digit: the strongest
   group of marks clear of the frame's border (or one touching it that outweighs them many
   times: a close-up), with the nearby marks that belong to it (a 5's detached bar), without
   specks or long straight lines reaching the border (a 1 clear of it is no ruled line), and
   without a reader's circle round it or line under it.
5. where that digit is only a few tens of pixels, do it all again on a close-up of the
   original pixels around it.

The result is an ink map like `preprocess.ink_map` gives for a drawing, so the usual MNIST
normalisation follows. Where the polarity is in doubt (a dim room's paper is as dark as a
board), the photo is read both ways, where the pen is nearly as wide as the background's
window (a close-up), with a wider window too; a model chooses. Where a ruled page's lines show it
turned, the digit is read turned back upright: people write level with the lines.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.spatial import ConvexHull

from .exif import upright
from .preprocess import BlankDrawingError, marks_on_transparency, normalise, without_transparency

# Longest side the photo is analysed at: the digit still spans tens of pixels, and one photo
# costs a few tens of milliseconds.
WORKING_SIDE = 384
# The background window, as a fraction of the short side: wider than any pen stroke.
BACKGROUND_WINDOW = 1 / 8
# A close-up's pen (a marker held near, a photo cropped to the digit) is nearly as wide as that
# window, which then takes the strokes' widest parts for paper. Where a first pass at half the
# working resolution with a window WIDE_WINDOW of the short side finds a pen at least THICK_PEN
# of the usual window wide, the photo is read with the wider window too. Chosen on close-ups of
# test digits (the model is not tuned here) among windows of 1/4 and 1/2 and pens of 0.5 to 1.
WIDE_WINDOW = 1 / 4
THICK_PEN = 0.6
# Shadows are reconstructed at this fraction of the working resolution.
COARSE = 4
# The digit's strokes are filled by a closing this many pens wide before shadows are
# reconstructed, and the background is at most a closing this many pens wide: wider than a
# stroke, a junction or a small loop, narrower than most of a shadow's tip.
STROKE_FILL = 2
STROKE_WINDOW = 4
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
# Ink must exceed this floor and the surface's own noise (in median absolute deviations).
MIN_INK = 0.08
NOISE_DEVIATIONS = 8
# Marks whose ink mass is below this fraction of the digit's are specks.
SPECK_FRACTION = 0.04
# Only the largest marks are weighed: a photo of a page has at most a few hundred (334 in the
# 480 synthetic photos), while a texture of tiny dots has tens of thousands, each costing Python.
MAX_MARKS = 2000
# A digit photographed close up may touch the frame's border: such a mark is the digit when it
# outweighs the strongest mark clear of the border this many times (the paper's edge with the
# table beyond outweighs a digit at most about 16 times).
BORDER_OUTWEIGHS = 50.0
# Marks within this many digit sizes of the digit's nearest pixel belong to it, unless they are
# long thin lines longer than the digit (a sticky note's or a sheet's edge, its thin shadow),
# whose box may hold the digit's.
NEARBY = 0.35
# A circle drawn round the digit may outweigh it, and is near it: a mark is a ring round
# another when the other spans at least this share of its extent (the digit fills most of the
# circle, where a speck in a 0 or a mark in an 8's loop is small beside the whole digit) and,
# seen from the other's middle, it lies in this many of DIRECTIONS directions (a circle left a
# little open still does; a 2, 3 or 5 leaves a quarter of them empty).
ENCIRCLED = 0.4
DIRECTIONS = 16
RING_DIRECTIONS = 14
# A circle touching the digit joins it into one mark. A ring's outline is convex: the region
# inside the mark's outermost pixel in each of OUTLINE_DIRECTIONS directions from its middle fills
# at least RING_SOLIDITY of its convex hull (circles measured 0.96 to 1.01, digits at most 0.91,
# an 8's waist or a 7's corner cut into it). The ring is the mark's pixels within RING_BAND pens
# of that outline; what lies inside it is read as marks of its own.
OUTLINE_DIRECTIONS = 64
RING_SOLIDITY = 0.95
RING_BAND = 2
# A sheet's punched holes show the desk beyond: solid round marks, in a row of equal ones along
# its edge. A mark is solid and round when it fills at least HOLE_FILL of its box (a disc 0.79, a
# pen's stroke, even a small digit's blurred loop, leaves the box's corners and its loops empty)
# and its box is at most HOLE_ASPECT times longer one way than the other, at least HOLE_SIDE pixels
# across (smaller solid marks are specks, or pieces of a grainy stroke); it is a hole where another
# such mark is at most HOLE_TWIN times larger or smaller.
HOLE_FILL = 0.65
HOLE_SIDE = 5
HOLE_ASPECT = 1.5
HOLE_TWIN = 1.5
# A digit a long line runs through (a crease, a ruled line) joins it into one mark, a line. Where
# that line is the heaviest mark and every other is a speck beside it, the line is the straight
# band of the mark's pixels found in one of LINE_DIRECTIONS directions: the offsets across it
# that hold at least LINE_PROFILE of its busiest offset's pixels (the digit holds fewer, being
# shorter than the line), and one pixel more each side for its blurred edge; what lies beyond is
# read as marks of its own.
LINE_DIRECTIONS = 180
LINE_PROFILE = 0.3
# People write level with a ruled page's lines: where its ruled lines (or its margin) show the page
# turned more than MIN_TURN degrees, the digit is read turned back upright instead; the model was
# trained on digits turned up to 10 degrees. Read so in place of the turned reading, photos of
# turned ruled pages were read as well or better than with both weighed, and photographed non-digits
# on them were answered "not a digit" more often: a second reading is a second chance to look like
# a digit.
MIN_TURN = 10
# Photographed at the working resolution, ruled lines are a pixel wide and fainter than the ink's
# threshold, which breaks them into specks: the turn is read from ink above TURN_INK beside the
# digit, in LINE_DIRECTIONS directions, where its straightest band holds at least TURN_LINE of the
# frame's short side of it and is at most TURN_LINE_WIDTH pixels wide at half its peak (a shadow's
# soft edge is wider), and turns the page at most MAX_TURN degrees: a page turned 45 degrees could be
# turned either way, and the pixels' grid piles scattered specks on the diagonals. At most
# TURN_POINTS of its pixels, evenly picked, are weighed: a ruled page has ten thousand, each costing
# as many offsets as directions. Chosen on photos of training digits (ruled pages turned, and the
# eight variants) and of non-digits.
TURN_INK = MIN_INK / 2
TURN_LINE = 0.2
TURN_LINE_WIDTH = 2
MAX_TURN = 40
TURN_POINTS = 1000
# A line drawn under the digit is at least this many times wider than it is high.
FLAT = 4
# A line drawn under the digit and touching it joins it into one mark. The line is the straightest
# band across the mark's lower half: at one of the tilts up to UNDERLINE_TILT degrees either way,
# the offsets across it that hold at least half as many of its pixels as the fullest one. A column is
# bare line where the mark's ink through the band lies within it, give or take a pixel, and clear
# where besides nothing of the mark lies within UNDERLINE_CLEAR of the digit's height above it.
# Where the band, unbroken and at least FLAT times longer than high, is clear for at least
# UNDERLINE_ARM of the digit's height from both its ends, its bare ends are cut off up to the columns
# the digit stands on: a 2's base starts where its stroke comes down or curls, a 4's bar where its
# slant does, and their strokes close above a curl are no clear line. Of 3000 test digits drawn as
# masks 10 would be cut (nine 2s with a base reaching left of the stroke, a 7).
UNDERLINE_TILT = 10
UNDERLINE_ARM = 0.15
UNDERLINE_CLEAR = 0.3
# A mark this many times longer than it is thick, reaching the frame's border and longer than
# this fraction of the frame, is a ruled line, a shadow's edge or the paper's edge.
LINE_ELONGATION = 12.0
LINE_EXTENT = 0.3
# Ruled lines are thinner than this many pixels at the working resolution, pen strokes wider.
THIN_LINE = 5
# A long thin mark clear of the frame's border is a 1 photographed close up unless it is
# longer than this fraction of the frame.
CLEAR_LINE_EXTENT = 0.8
# The digit's marks must be this much stronger than such lines: ruled lines are fainter than
# the pen, and a pen stroke crossing one must not be joined to it.
ABOVE_LINES = 1.3
# ... unless that would drop marks this strong relative to the strongest: a paper's edge is no
# ruled line and may be darker than the pen.
STRONGEST_SHARE = 0.6
# A digit spanning less than this share of the working photo's short side (20 of a 4:3 photo's
# 288 pixels) is read again from the original pixels around it, in a close-up this many times
# its extent: at the working resolution a digit a twentieth of the frame high is a dozen
# pixels, in the close-up a quarter of the frame, as large as the photos the steps above are
# tuned on. Chosen on photos of training digits among 0.06 to 0.12.
SMALL_DIGIT = 0.07
CLOSE_UP = 4
# Skin is warmer than the paper around it, its colour divided by the paper's (a closing
# SKIN_WINDOW of the frame's short side wide: wider than a finger, so that a lamp's warm light
# falling on part of the page is paper too): red exceeds blue by SKIN_WARMTH of red, and green
# lies between them, at SKIN_HUE of the way from blue to red (skin measured 0.3 to 0.4; a red
# pen's green is as low as its blue, a yellow note's as high as its red). A region of it at least
# FINGER_WIDTH of the short side wide is a finger where it enters from the frame's border: a
# fingertip, 15 to 20 mm, is wider than that in a frame showing a handwritten digit and the paper
# round it, a pen's stroke and a punched hole (6 mm) narrower (the probe's fingers measured 0.10 to
# 0.17 of the short side, its holes cut by the border at most 0.083). Its shadow beside it is set
# aside too, SKIN_SHADOW of the short side.
SKIN_WINDOW = 1 / 4
SKIN_WARMTH = 0.1
SKIN_HUE = (0.1, 0.7)
FINGER_WIDTH = 1 / 11
SKIN_SHADOW = 1 / 32
# A finger crosses the frame's border once, over at most this many times its width (its width
# where it enters square to the border, twice where it enters at 30 degrees to it); the paper's
# edge, a desk seen beyond it or a column of punched holes runs along the border.
FINGER_CROSSING = 2


def working_photo(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """The photo as upright greyscale in [0, 1], its long side at most WORKING_SIDE, and where a
    finger covers the paper there (None where nothing does).

    An image drawn on a transparent sheet is a drawing exported rather than a photo: its
    transparent pixels are white paper and its opacity dark ink."""
    image = upright(image)
    ink = marks_on_transparency(image)
    if ink is not None:
        return at_working_side(Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8))), None
    colour = without_transparency(image)
    grey = at_working_side(colour.convert("L"))
    return grey, None if colour.mode == "L" else covered(colour, grey.shape)


def at_working_side(grey: Image.Image) -> np.ndarray:
    """The greyscale image in [0, 1], shrunk so that its long side is at most WORKING_SIDE, each
    pixel the mean of the 3x3 around it: JPEG and sensor noise averaged."""
    scale = WORKING_SIDE / max(grey.size)
    if scale < 1:
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BOX)
    return ndimage.uniform_filter(np.asarray(grey, dtype=np.float32) / 255, 3, mode="nearest")


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


def digit_mask(ink: np.ndarray) -> np.ndarray:
    """The pixels of the digit's marks: the main mark and what belongs to it."""
    sample = ink[::4, ::4]
    noise = float(np.median(np.abs(sample - np.median(sample))))
    threshold = max(NOISE_DEVIATIONS * noise, MIN_INK)
    marks, count, lines = labelled(ink, threshold)
    # A digit written across ruled lines joins them into one long mark: its thick parts are the
    # pen's, and only the thin parts tell how dark the ruled lines are.
    on_lines = lines[marks]
    thin_lines = on_lines & ~ndimage.binary_opening(on_lines, structure=np.ones((THIN_LINE, THIN_LINE)))
    others = (marks > 0) & ~thin_lines
    if thin_lines.any() and others.any():
        # Only lines fainter than the other marks are ruled lines; a paper's edge can be darker.
        line_ink = ABOVE_LINES * float(np.percentile(ink[thin_lines], 90))
        if line_ink < STRONGEST_SHARE * float(np.percentile(ink[others], 95)):
            marks, count, lines = labelled(ink, max(threshold, line_ink))
    if count == 0:
        raise BlankDrawingError("the photo is blank: no ink found")
    index = np.arange(1, count + 1)
    mass = ndimage.sum_labels(ink, marks, index)
    heaviest_mark = int(np.argmax(mass)) + 1
    if not lines[heaviest_mark]:
        marks, count, lines = ring_apart(marks, count, lines, heaviest_mark)
    elif np.all(lines[1:] | (mass < SPECK_FRACTION * mass[heaviest_mark - 1])):
        marks, count, lines = line_apart(marks, count, lines, heaviest_mark)
    index = np.arange(1, count + 1)
    mass = ndimage.sum_labels(ink, marks, index)
    boxes = ndimage.find_objects(marks)
    height, width = ink.shape
    area = np.bincount(marks.ravel(), minlength=count + 1)
    holes = punched_holes(area, boxes)

    candidates = []
    for label, (rows, cols), weight in zip(index, boxes, mass):
        if lines[label]:
            continue
        at_border = rows.start == 0 or cols.start == 0 or rows.stop == height or cols.stop == width
        centre_y, centre_x = (rows.start + rows.stop) / 2 / height, (cols.start + cols.stop) / 2 / width
        # People aim the camera at the digit: between equal marks, the one nearer the centre.
        centrality = 1 - 0.5 * np.hypot(centre_y - 0.5, centre_x - 0.5)
        candidates.append((not at_border, weight * centrality, label))
    choosable = [candidate for candidate in candidates if not holes[candidate[2]]]
    if not choosable:
        raise BlankDrawingError("the photo holds no mark that looks like a digit")
    clearest = max(choosable)
    heaviest = max(choosable, key=lambda candidate: candidate[1])
    main_clear, _, main = heaviest if heaviest[1] > BORDER_OUTWEIGHS * clearest[1] else clearest
    # The corner of a sticky note's or a sheet's edge, with its shadow, a circle drawn round the
    # digit or a line under it may outweigh a thin pen's digit: the mark they mark is the digit.
    marked = [candidate for candidate in choosable if candidate[2] != main
              and mass[candidate[2] - 1] >= SPECK_FRACTION * mass[main - 1]
              and marks_up(marks, area, boxes, main, candidate[2])]
    if marked:
        main_clear, _, main = max(marked, key=lambda candidate: candidate[1])
    arms = underline_arms(marks[boxes[main - 1]] == main)
    if arms.any():
        marks[boxes[main - 1]][arms] = 0
        mass = ndimage.sum_labels(ink, marks, index)
        boxes = ndimage.find_objects(marks)
        area = np.bincount(marks.ravel(), minlength=count + 1)
    digit_extent = extent_of(boxes[main - 1])
    gaps = gaps_to(marks, main, boxes[main - 1], NEARBY * digit_extent)
    if holes.any() and twins_drawn(holes, boxes, boxes[main - 1], NEARBY * digit_extent):
        holes[:] = False
    keep = [main]
    for clear, _, label in candidates:
        if label == main or holes[label] or (main_clear and not clear) \
                or mass[label - 1] < SPECK_FRACTION * mass[main - 1]:
            continue
        if extent_of(boxes[label - 1]) > digit_extent and long_and_thin(boxes[label - 1], area[label]):
            continue
        if gaps.get(label, np.inf) <= NEARBY * digit_extent and not marks_up(marks, area, boxes, label, main):
            keep.append(label)
    return np.isin(marks, keep)


def page_turn(ink: np.ndarray, digit: np.ndarray) -> float:
    """How many degrees counter-clockwise the page lies turned, as the straightest band of its faint
    ink beside the `digit` (a mask) shows, where that band is a thin line at least TURN_LINE of the
    frame's short side long; 0 where none is. Ruled lines lie level on the page, its margin and
    edges upright: the turn is known up to a quarter turn."""
    points = np.argwhere((ink > TURN_INK) & ~ndimage.binary_dilation(digit, iterations=3))
    if len(points) < TURN_LINE * min(ink.shape):
        return 0.0
    step = -(-len(points) // TURN_POINTS)
    angles = np.arange(LINE_DIRECTIONS) * np.pi / LINE_DIRECTIONS
    normal, offsets, first, last = busiest_band(points[::step], np.stack([np.cos(angles), np.sin(angles)]), 0.5)
    turn = (normal * 180 / LINE_DIRECTIONS + 45) % 90 - 45
    if (step * np.bincount(offsets - offsets.min()).max() < TURN_LINE * min(ink.shape)
            or last - first + 1 > TURN_LINE_WIDTH or abs(turn) > MAX_TURN):
        return 0.0
    return float(turn)


def turned(ink: np.ndarray, degrees: float) -> np.ndarray:
    """The ink map's ink turned `degrees` counter-clockwise, whole."""
    rows, cols = np.nonzero(ink)
    box = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    return np.clip(ndimage.rotate(box, degrees, order=1, reshape=True), 0, 1)


def punched_holes(area: np.ndarray, boxes: list[tuple[slice, slice]]) -> np.ndarray:
    """Which marks (by label; 0 is the surface) are a sheet's punched holes: solid round marks
    with a twin of about their size."""
    sides = np.sort([(rows.stop - rows.start, cols.stop - cols.start) for rows, cols in boxes], axis=1).reshape(-1, 2)
    solid = np.flatnonzero((area[1:] >= HOLE_FILL * sides[:, 0] * sides[:, 1])
                           & (sides[:, 1] <= HOLE_ASPECT * sides[:, 0]) & (sides[:, 0] >= HOLE_SIDE)) + 1
    # Sorted by area, a mark's likest twin is a neighbour.
    solid = solid[np.argsort(area[solid], kind="stable")]
    twins = area[solid[1:]] <= HOLE_TWIN * area[solid[:-1]]
    holes = np.zeros(len(area), dtype=bool)
    holes[solid[1:][twins]] = holes[solid[:-1][twins]] = True
    return holes


def twins_drawn(holes: np.ndarray, boxes: list[tuple[slice, slice]], box: tuple[slice, slice], reach: float) -> bool:
    """Whether the twin marks taken for punched holes are the drawing's own: the two rings of a "%"
    blurred solid, an 8 of two blots. Holes run in a row along the sheet's edge, beyond the digit;
    twins that all lie within `reach` of the digit's box belong to it."""
    rows, cols = box
    for label in np.flatnonzero(holes):
        twin_rows, twin_cols = boxes[label - 1]
        middle_y, middle_x = (twin_rows.start + twin_rows.stop) / 2, (twin_cols.start + twin_cols.stop) / 2
        if not (rows.start - reach <= middle_y <= rows.stop + reach and cols.start - reach <= middle_x <= cols.stop + reach):
            return False
    return True


def ring_apart(marks: np.ndarray, count: int, lines: np.ndarray, mark: int) -> tuple[np.ndarray, int, np.ndarray]:
    """The marks with a ring-shaped mark's inside labelled apart from its outer band, so that a
    circle touching the digit can be told from it (`encircles`); other marks as they are. A 0 has
    nothing inside its band, and a dot in it stays small beside it."""
    box = ndimage.find_objects(marks, max_label=mark)[mark - 1]
    shape = marks[box] == mark
    pen = measured_stroke_width(shape)
    if min(shape.shape) <= 2 * RING_BAND * pen:
        return marks, count, lines
    middle = (np.array(shape.shape) - 1) / 2
    # The outermost pixels, and the hull, are on the mark's edge: only the band test needs them all.
    edge = np.argwhere(shape & ~ndimage.binary_erosion(shape))
    edge_directions, edge_radius = polar(edge, middle)
    outline = ndimage.maximum(edge_radius, edge_directions, np.arange(OUTLINE_DIRECTIONS))
    inside_outline = np.pi / OUTLINE_DIRECTIONS * float(np.sum(outline ** 2))
    if inside_outline < RING_SOLIDITY * ConvexHull(edge, qhull_options="QJ").volume:
        return marks, count, lines
    pixels = np.argwhere(shape)
    directions, radius = polar(pixels, middle)
    inner = pixels[radius < outline[directions] - RING_BAND * pen]
    inside = np.zeros_like(shape)
    inside[inner[:, 0], inner[:, 1]] = True
    return pieces_apart(marks, count, lines, box, inside)


def line_apart(marks: np.ndarray, count: int, lines: np.ndarray, mark: int) -> tuple[np.ndarray, int, np.ndarray]:
    """The marks with what a line's mark holds beyond its straight band (a digit the line runs
    through) labelled as marks of their own; other marks as they are."""
    box = ndimage.find_objects(marks, max_label=mark)[mark - 1]
    shape = marks[box] == mark
    pixels = np.argwhere(shape)
    angles = np.arange(LINE_DIRECTIONS) * np.pi / LINE_DIRECTIONS
    _, across, first, last = busiest_band(pixels, np.stack([np.cos(angles), np.sin(angles)]), LINE_PROFILE)
    beyond = pixels[(across < first - 1) | (across > last + 1)]
    rest = np.zeros_like(shape)
    rest[beyond[:, 0], beyond[:, 1]] = True
    return pieces_apart(marks, count, lines, box, rest)


def pieces_apart(marks: np.ndarray, count: int, lines: np.ndarray, box: tuple[slice, slice],
                 part: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """The marks with each piece of `part` (a mask over `box`) labelled as a mark of its own, none
    of them a line; the marks as they are where `part` is empty."""
    pieces, found = ndimage.label(part, structure=np.ones((3, 3)))
    if found == 0:
        return marks, count, lines
    marks = marks.copy()
    marks[box][part] = pieces[part] + count
    return marks, count + found, np.concatenate([lines, np.zeros(found, dtype=bool)])


def underline_arms(shape: np.ndarray) -> np.ndarray:
    """The pixels of the mark `shape` that are a line drawn under the digit and touching it, where
    the line runs on beyond the digit on both sides; none where its lowest straight band is no such
    line. The digit keeps the line's pixels in the columns it stands on."""
    height, width = shape.shape
    none = np.zeros_like(shape)
    band_top, band_height = straight_band(shape)
    runs, count = ndimage.label(shape, structure=[[0, 1, 0], [0, 1, 0], [0, 1, 0]])
    row_grid = np.broadcast_to(np.arange(height)[:, None], shape.shape)
    run_top = np.concatenate([[0], ndimage.minimum(row_grid, runs, np.arange(1, count + 1))])
    run_bottom = np.concatenate([[0], ndimage.maximum(row_grid, runs, np.arange(1, count + 1))])
    in_band = shape & (row_grid >= band_top - 0.5) & (row_grid < band_top + band_height - 0.5)
    band_rows, band_cols = np.nonzero(in_band)
    band_runs = runs[band_rows, band_cols]
    line = np.unique(band_cols)
    if line.size < FLAT * band_height or np.ptp(line) + 1 > line.size:
        return none
    within = ((run_top[band_runs] >= band_top[band_cols] - 1.5)
              & (run_bottom[band_runs] <= band_top[band_cols] + band_height + 0.5))
    bare = np.ones(width, dtype=bool)
    np.logical_and.at(bare, band_cols, within)
    bare = bare[line]
    digit_height = height - band_height
    rest_above = shape & ~np.isin(runs, band_runs) & (row_grid < band_top)
    clear = bare & (band_top - np.where(rest_above, row_grid, -np.inf).max(axis=0) >= UNDERLINE_CLEAR * digit_height)[line]
    if bare.all() or min(np.argmin(clear), np.argmin(clear[::-1])) < UNDERLINE_ARM * digit_height:
        return none
    left, right = np.argmin(bare), np.argmin(bare[::-1])
    arm_columns = np.concatenate([line[:left], line[line.size - right:]])
    return np.isin(runs, band_runs[np.isin(band_cols, arm_columns)])


def straight_band(shape: np.ndarray) -> tuple[np.ndarray, int]:
    """The straightest band across the mark's lower half: its top edge's row in each column, and its
    height in rows."""
    height, width = shape.shape
    rows, cols = np.nonzero(shape)
    lower = rows >= (height - 1) / 2
    slopes = np.tan(np.radians(np.arange(-UNDERLINE_TILT, UNDERLINE_TILT + 1)))
    # Offsets down the rows at each slope, so that the band's edges are rows.
    slope, _, first, last = busiest_band(np.stack([rows[lower], cols[lower]], axis=1),
                                         np.stack([np.ones_like(slopes), -slopes]), 0.5)
    return first + slopes[slope] * np.arange(width), last - first + 1


def busiest_band(points: np.ndarray, normals: np.ndarray, share: float) -> tuple[int, np.ndarray, int, int]:
    """The straightest band through the (row, column) points across one of `normals` (2 x n): the
    normal whose offsets (points @ normal, rounded) pile the most points on one offset, every
    point's offset along it, and the first and last offsets of the run round that peak holding at
    least `share` of its points."""
    offsets = np.rint(points @ normals).astype(int)
    lowest = offsets.min(axis=0)
    shifted = offsets - lowest
    span = int(shifted.max()) + 1
    profiles = np.bincount((shifted + np.arange(normals.shape[1]) * span).ravel(),
                           minlength=normals.shape[1] * span).reshape(-1, span)
    normal, peak = np.unravel_index(np.argmax(profiles), profiles.shape)
    runs, _ = ndimage.label(profiles[normal] >= share * profiles[normal, peak])
    run = np.flatnonzero(runs == runs[peak])
    return int(normal), offsets[:, normal], int(lowest[normal] + run[0]), int(lowest[normal] + run[-1])


def polar(points: np.ndarray, middle: np.ndarray, count: int = OUTLINE_DIRECTIONS) -> tuple[np.ndarray, np.ndarray]:
    """Each (row, column) point's direction (one of `count`) and distance from the middle."""
    offset = points - middle
    angle = np.arctan2(offset[:, 0], offset[:, 1])
    directions = (np.floor((angle / (2 * np.pi) + 0.5) * count) % count).astype(int)
    return directions, np.hypot(offset[:, 0], offset[:, 1])


def marks_up(marks: np.ndarray, area: np.ndarray, boxes: list[tuple[slice, slice]], mark: int, other: int) -> bool:
    """Whether the mark is drawn round or under the other rather than a part of the same digit:
    a long thin line holding it in its box (a sticky note's or a sheet's edge), a ring round it,
    or a line under it."""
    box, other_box = boxes[mark - 1], boxes[other - 1]
    return ((long_and_thin(box, area[mark]) and holds(box, other_box))
            or encircles(marks, mark, boxes, other) or underlines(box, other_box))


def underlines(bar: tuple[slice, slice], digit: tuple[slice, slice]) -> bool:
    """Whether the mark is a line drawn under the digit: a flat mark just below the digit's box, at
    least as wide as the digit (a 5's or a 7's bar is above it or across it, and narrower)."""
    (bar_rows, bar_cols), (digit_rows, digit_cols) = bar, digit
    width = bar_cols.stop - bar_cols.start
    return (0 <= bar_rows.start - digit_rows.stop <= NEARBY * extent_of(digit)
            and width >= digit_cols.stop - digit_cols.start and FLAT * (bar_rows.stop - bar_rows.start) <= width)


def encircles(marks: np.ndarray, outer: int, boxes: list[tuple[slice, slice]], inner: int) -> bool:
    """Whether the outer mark is a ring round the inner one: it holds the inner mark in its box,
    the inner mark is not small beside it (a speck in a 0, or in a 6's, 8's or 9's loop, is), and
    seen from the inner mark's middle the ring lies in nearly every direction."""
    outer_box, inner_box = boxes[outer - 1], boxes[inner - 1]
    if not holds(outer_box, inner_box) or extent_of(inner_box) < ENCIRCLED * extent_of(outer_box):
        return False
    middle = np.array([(inner.start + inner.stop - 1) / 2 - outer.start for inner, outer in zip(inner_box, outer_box)])
    directions, _ = polar(np.argwhere(marks[outer_box] == outer), middle, DIRECTIONS)
    return np.unique(directions).size >= RING_DIRECTIONS


def gaps_to(marks: np.ndarray, main: int, box: tuple[slice, slice], reach: float) -> dict[int, int]:
    """The gap from each mark within `reach` of the main mark's box to the main mark's nearest
    pixel, in chessboard steps; only that neighbourhood is measured."""
    margin = int(reach) + 1
    rows, cols = box
    near = marks[max(rows.start - margin, 0):rows.stop + margin, max(cols.start - margin, 0):cols.stop + margin]
    labels = np.unique(near[near > 0])
    distance = ndimage.distance_transform_cdt(near != main, metric="chessboard")
    return dict(zip(labels.tolist(), ndimage.minimum(distance, near, labels)))


def extent_of(box: tuple[slice, slice]) -> int:
    rows, cols = box
    return max(rows.stop - rows.start, cols.stop - cols.start)


def long_and_thin(box: tuple[slice, slice], area: int) -> bool:
    return extent_of(box) ** 2 > LINE_ELONGATION * area


def holds(outer: tuple[slice, slice], inner: tuple[slice, slice]) -> bool:
    return all(o.start < i.start and i.stop < o.stop for o, i in zip(outer, inner))


def labelled(ink: np.ndarray, threshold: float) -> tuple[np.ndarray, int, np.ndarray]:
    """Connected marks above the threshold, their count, and which of them (by label; 0 is
    the surface) are long thin lines."""
    marks, count = ndimage.label(ink > threshold, structure=np.ones((3, 3)))
    area = np.bincount(marks.ravel(), minlength=count + 1)
    if count > MAX_MARKS:
        largest = np.argsort(area[1:], kind="stable")[::-1][:MAX_MARKS] + 1
        marks, count = ndimage.label(np.isin(marks, largest), structure=np.ones((3, 3)))
        area = np.bincount(marks.ravel(), minlength=count + 1)
    height, width = ink.shape
    lines = np.zeros(count + 1, dtype=bool)
    for label, (rows, cols) in enumerate(ndimage.find_objects(marks), start=1):
        extent_y, extent_x = rows.stop - rows.start, cols.stop - cols.start
        at_border = rows.start == 0 or cols.start == 0 or rows.stop == height or cols.stop == width
        extent = LINE_EXTENT if at_border else CLEAR_LINE_EXTENT
        lines[label] = (long_and_thin((rows, cols), area[label])
                        and (extent_x > extent * width or extent_y > extent * height))
    return marks, count, lines


def shadowed_background(surface: np.ndarray, window: int) -> np.ndarray:
    """The background by closing by reconstruction: a dark region (a shadow, a table) wider
    than the window somewhere keeps its whole shape, its narrow tip included, where a plain
    closing would fill the tip and make it ink; strokes, thin everywhere, are removed."""
    coarse = reduced(surface, COARSE)
    marker = ndimage.grey_dilation(coarse, size=max(3, window // COARSE), mode="nearest")
    return enlarged(reconstructed(marker, coarse), surface.shape)


def reduced(image: np.ndarray, factor: int) -> np.ndarray:
    """The image `factor` times smaller each way, each pixel the mean of those it covers."""
    height, width = image.shape
    return np.asarray(Image.fromarray(image, mode="F").resize(
        (max(1, width // factor), max(1, height // factor)), Image.Resampling.BOX))


def enlarged(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A reduced image brought back to `shape`, smoothly."""
    height, width = shape
    return np.asarray(Image.fromarray(image, mode="F").resize((width, height), Image.Resampling.BILINEAR))


def reconstructed(marker: np.ndarray, surface: np.ndarray) -> np.ndarray:
    """Reconstruction by erosion: the marker flows down wherever the surface below lets it."""
    for _ in range(sum(surface.shape)):
        lower = np.maximum(ndimage.grey_erosion(marker, size=3, mode="nearest"), surface)
        if np.array_equal(lower, marker):
            break
        marker = lower
    return marker


def measured_stroke_width(mask: np.ndarray) -> float:
    """The pen's width in pixels: the marks' area over half their outline."""
    outline = np.count_nonzero(mask & ~ndimage.binary_erosion(mask))
    return 2 * np.count_nonzero(mask) / max(outline, 1)


def photo_ink(image: Image.Image, light_ink: bool | None = None) -> np.ndarray:
    """The digit's ink in [0, 1] over the upright working-resolution photo, zero elsewhere; the
    ink light (chalk) or dark as `light_ink` says, by default as is likelier for this photo."""
    grey, finger = working_photo(image)
    window = background_window(grey)
    ink, _ = ink_over(grey, finger, window, ink_polarities(grey, window)[0] if light_ink is None else light_ink,
                      find_turn=False)
    return ink


def background_window(grey: np.ndarray, share: float = BACKGROUND_WINDOW) -> int:
    return max(3, round(min(grey.shape) * share))


def first_pass(grey: np.ndarray, finger: np.ndarray | None, window: int,
               light_ink: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The surface with dark ink, its closing, and enough of the digit to measure its pen,
    though a shadow may have flowed into strokes touching it."""
    surface, closing = dark_ink_surface(grey, window, light_ink)
    ink = flattened(surface, lit_background(surface, closing, surface, window))
    return surface, closing, digit_mask(uncovered(ink, finger))


def uncovered(ink: np.ndarray, finger: np.ndarray | None) -> np.ndarray:
    """The ink where no finger covers the paper: a finger's outline and shadow are no ink."""
    return ink if finger is None else np.where(finger, 0, ink).astype(ink.dtype)


def pen_fills_window(grey: np.ndarray, finger: np.ndarray | None, window: int, light_ink: bool) -> bool:
    """Whether the digit's pen is nearly as wide as `window`, as a first pass with the wide window
    at half the resolution finds it: cheap enough to ask of every photo."""
    half = reduced(grey, 2)
    try:
        half_finger = None if finger is None else reduced(finger.astype(np.float32), 2) > 0.5
        *_, first = first_pass(half, half_finger, background_window(half, WIDE_WINDOW), light_ink)
    except BlankDrawingError:
        return False
    return 2 * measured_stroke_width(first) >= THICK_PEN * window


def ink_over(grey: np.ndarray, finger: np.ndarray | None, window: int, light_ink: bool,
             find_turn: bool = True) -> tuple[np.ndarray, float]:
    """`photo_ink` of the working photo `grey`, and the page's turn its faint lines show (`page_turn`;
    0 unless `find_turn`: a close-up is turned back as its whole photo is).

    Two passes. The first finds enough of the digit to measure its pen. The second fills those
    strokes (a closing two pens wide, only there) before the shadow is reconstructed, so the
    shadow no longer flows along them into the lit paper, and bounds the background by a
    closing a few pens wide, so of a shadow's tip pointing at the digit only the apex stays ink."""
    surface, closing, first = first_pass(grey, finger, window, light_ink)
    pen = measured_stroke_width(first)
    strokes = ndimage.binary_dilation(first, iterations=max(1, round(pen / 2)))
    filled = np.where(strokes, ndimage.grey_closing(surface, size=pens(STROKE_FILL, pen, window), mode="nearest"),
                      surface)
    background = lit_background(surface, closing, filled, window)
    stroke_window = pens(STROKE_WINDOW, pen, window)
    if stroke_window < window:
        background = np.minimum(background, ndimage.grey_closing(surface, size=stroke_window, mode="nearest"))
    # Inverted, a light ink's surface goes dark under glare, and dividing by its background
    # already measures the chalk against what the glare left of the board's contrast.
    ink = uncovered(flattened(surface, background) if light_ink
                    else flattened(surface, *under_glare(background, closing, window)), finger)
    mask = digit_mask(ink)
    near_digit = ndimage.binary_dilation(mask, iterations=2)
    return np.where(near_digit, ink, 0).astype(np.float32), page_turn(ink, mask) if find_turn else 0.0


def readings(image: Image.Image, every: bool) -> np.ndarray:
    """The photo as (N, 28, 28) model inputs, the likeliest reading first and, if `every`, the
    others a model should weigh: the digit read with each polarity it may have
    (`ink_polarities`), and where its pen nearly fills the background's window, read with the
    wide window; each turned back upright where the page's lines show it turned more than
    MIN_TURN; a reading in which no digit is found gives no input."""
    grey, finger = working_photo(image)
    window = background_window(grey)
    polarities = ink_polarities(grey, window)
    ways = []
    for light_ink in polarities[:len(polarities) if every else 1]:
        ways.append((window, light_ink))
        if every and pen_fills_window(grey, finger, window, light_ink):
            ways.append((background_window(grey, WIDE_WINDOW), light_ink))
    inputs, refusal = [], None
    for way_window, light_ink in ways:
        try:
            ink, turn = ink_over(grey, finger, way_window, light_ink)
            ink = closer_if_small(image, ink, light_ink)
            inputs.append(normalise(turned(ink, -turn) if abs(turn) > MIN_TURN else ink))
        except BlankDrawingError as exc:
            refusal = refusal or exc
    if not inputs:
        raise refusal
    return np.stack(inputs)


def closer_if_small(image: Image.Image, ink: np.ndarray, light_ink: bool) -> np.ndarray:
    """`ink`, or where the digit is small in the working photo, `photo_ink` of a close-up of the
    original pixels around it, in the same polarity; `ink` if the close-up holds none."""
    rows, cols = np.nonzero(ink)
    extent = max(np.ptp(rows), np.ptp(cols)) + 1
    scale = max(image.size) / max(ink.shape)
    # Below 1.5 the original holds too few more pixels to be worth a second pass.
    if extent >= SMALL_DIGIT * min(ink.shape) or scale < 1.5:
        return ink
    turned = upright(image)
    half = CLOSE_UP * extent * scale / 2
    middle_x, middle_y = (cols.min() + cols.max() + 1) / 2 * scale, (rows.min() + rows.max() + 1) / 2 * scale
    box = (max(0, round(middle_x - half)), max(0, round(middle_y - half)),
           min(turned.width, round(middle_x + half)), min(turned.height, round(middle_y + half)))
    try:
        return photo_ink(turned.crop(box), light_ink)
    except BlankDrawingError:
        return ink


def lit_background(surface: np.ndarray, closing: np.ndarray, filled: np.ndarray, window: int) -> np.ndarray:
    """The closing, lowered where a shadow reconstructed over `filled` reaches."""
    return np.minimum(closing, np.maximum(shadowed_background(filled, window), surface))


def pens(count: float, pen: float, window: int) -> int:
    """A window `count` pen widths wide, at least 3 pixels and at most the background's."""
    return min(window, max(3, round(count * pen)))
