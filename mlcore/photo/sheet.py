"""A sheet, a card or a sticky note lying on a darker desk, or a blackboard on a lighter wall, and the photo of it
close up.

Photographed from afar, a note is a small bright patch in a frame of desk: at the working resolution
its digit is a few pixels of faint ink, and the desk's grain, the note's edges and their shadows
outweigh it (they were read as 1s, or as no digit, and an empty note's edge as a 1). A person would
look at the note: so does the reading, where the photo's bright region is such a patch.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.morphology import convex_hull_image

from ..preprocess import box_of
from .marks import rectangle
from .surface import BOARD, enlarged

# The sheet is the hull of the regions brighter than the tone that best splits the photo in two
# (Otsu's), cleared of specks this many working pixels wide, that are at least PIECE of the largest: a
# pen lying across a note, or a scribble, cuts it in two. Where that hull is no sheet but for a heavy
# scribble, the largest region alone may be: a patch of the desk as bright bent the hull, or widened it to
# the frame's border. Where neither is, the sheet is sought again among the pixels brighter than the
# tone that best splits those brighter ones: the light streaks of a wooden desk, or a floor's pale tiles,
# reach the sheet and join it (an audit's empty notes and cards on wooden desks: 4 more answered "not a
# digit"; a 5 on a folded sheet and a 6 on a ruled card lost). A sheet covering more of the frame than
# MOST_OF_FRAME is read as it is (the photo is close enough), one covering less than LEAST_OF_FRAME is no
# sheet but a glint or a label.
SPECKS = 2
PIECE = 0.2
MOST_OF_FRAME = 0.5
LEAST_OF_FRAME = 0.005
# It is a sheet where it is a rectangle seen at a slant (RECTANGLE_FILL of `rectangle`, to ELONGATION times
# longer than wide: a receipt is), mostly bare (at least BARE of it bright: a chalk digit's strokes fill half
# the rectangle round them), the frame cuts at most two of its sides, and it ends in a step: the desk
# within EDGE pixels outside its edge is darker than STEP of the sheet within EDGE inside it (medians). Light
# falling off across a whiteboard, a shadow's soft edge across a sheet, or a lit patch of a wall end in no
# such step. A white card on a pale desk measured 0.86; at 0.9 rather than 0.8, the four audits' 1,910 photos
# gained 3 answers and lost none.
ELONGATION = 4.0
BARE = 0.75
SIDES_CUT = 2
EDGE = 3
STEP = 0.9
# The close-up leaves out a margin this many working pixels wide inside the sheet's edge (its shadow and the
# edge's blur, which would be marks) and paints what lies outside it with the sheet's tone nearby: the tone
# of the sheet within about TONE_REACH of the working side, so no step is left where the sheet's light
# falls off towards its edge.
MARGIN = 2
# A blackboard hanging on a lighter wall is such a sheet with its tones turned: the wall, lit brighter than the
# board, made the photo paper and the chalk no ink (none of 30 test digits so written was read right). It is
# read close up too where it covers at least LEAST_BOARD of the frame, is darker than a board (`surface.BOARD`)
# and, within its rim, CHALK of it is brighter than its tone by CHALK_CONTRAST: a thin digit's chalk. Paper in
# a shadow is lighter than a board; a black card or a phone holds no chalk; the gaps of a scribble crossing a
# digit out, dark on paper, were a fifth of it; a thick pen's 8, its loops' holes bright in it, was 2 % of the
# frame (boards measured 19 to 43 %).
LEAST_BOARD = 0.05
CHALK = (0.002, 0.15)
CHALK_CONTRAST = 0.1
TONE_REACH = 1 / 32


def close_up(image: Image.Image, grey: np.ndarray) -> Image.Image | None:
    """The upright RGB or greyscale photo cropped to the sheet lying in it (or the board hanging in it), the desk
    around painted the sheet's tone; None where the photo shows no such sheet. `grey` is the photo at the working
    resolution."""
    if image.mode not in ("RGB", "L"):
        return None
    sheet = sheet_in(grey)
    if sheet is None:
        sheet = board_in(grey)
    if sheet is None:
        return None
    scale = max(image.size) / max(grey.shape)
    rows, cols = box_of(sheet)
    crop = image.crop((round(cols.start * scale), round(rows.start * scale),
                       min(image.width, round(cols.stop * scale)), min(image.height, round(rows.stop * scale))))
    inside = ndimage.binary_erosion(sheet, iterations=MARGIN, border_value=1)[rows, cols]
    inside = enlarged(inside.astype(np.float32), (crop.height, crop.width)) > 0.5
    pixels = np.asarray(crop).copy()
    pixels[~inside] = sheet_tone(pixels, inside, round(TONE_REACH * max(grey.shape) * scale))[~inside]
    return Image.fromarray(pixels, mode=crop.mode)


def sheet_tone(pixels: np.ndarray, inside: np.ndarray, reach: int) -> np.ndarray:
    """The tone of the sheet's pixels (`inside`) near each pixel (a Gaussian's weighted mean, `reach` its
    deviation), worked out a quarter of `reach` apart; their median where none lie within four `reach`."""
    step = max(1, reach // 4)
    weight = inside[::step, ::step].astype(np.float32)
    tone = pixels[::step, ::step].astype(np.float32)
    if tone.ndim == 3:
        weight = weight[..., None]
    sigma = (4, 4, 0)[:tone.ndim]
    total = ndimage.gaussian_filter(tone * weight, sigma, mode="nearest")
    share = ndimage.gaussian_filter(weight, sigma, mode="nearest")
    near = np.where(share > 1e-3, total / np.maximum(share, 1e-3), np.median(pixels[inside], axis=0))
    channels = (near if near.ndim == 3 else near[..., None]).astype(np.float32)
    tones = np.stack([enlarged(channel, pixels.shape[:2]) for channel in np.moveaxis(channels, -1, 0)], axis=-1)
    return np.clip(np.round(tones.reshape(pixels.shape)), 0, 255).astype(pixels.dtype)


def board_in(grey: np.ndarray) -> np.ndarray | None:
    """Where a blackboard hangs on a lighter wall in the working photo `grey`, chalk written on it, or None
    (LEAST_BOARD, CHALK)."""
    # Half a board at least is darker than BOARD: a frame with fewer such pixels shows none, and is spared the hulls.
    if np.mean(grey < BOARD) < LEAST_BOARD / 2:
        return None
    board = sheet_in(1 - grey)
    if board is None or board.mean() < LEAST_BOARD:
        return None
    tone = np.median(grey[board])
    if tone >= BOARD:
        return None
    # Within its rim: the hull's edge takes in some of the wall.
    inside = ndimage.binary_erosion(board, iterations=EDGE)
    chalk = np.count_nonzero(inside & (grey > tone + CHALK_CONTRAST)) / np.count_nonzero(inside)
    return board if CHALK[0] <= chalk <= CHALK[1] else None


def sheet_in(grey: np.ndarray) -> np.ndarray | None:
    """Where the sheet lies in the working photo `grey` (ink on it included), or None (MOST_OF_FRAME, STEP)."""
    threshold = threshold_otsu(grey)
    sheet, covered = sheet_above(grey, threshold)
    brighter = grey[grey > threshold]
    if sheet is None and covered <= MOST_OF_FRAME and brighter.size:
        # The light streaks of a wooden desk, as bright as the sheet there, joined it: it is brighter still.
        sheet, _ = sheet_above(grey, threshold_otsu(brighter))
    return sheet


def sheet_above(grey: np.ndarray, threshold: float) -> tuple[np.ndarray | None, float]:
    """The sheet made of the regions of `grey` brighter than `threshold`, or None; and the share of the frame
    its pieces cover."""
    bright = ndimage.binary_opening(grey > threshold, iterations=SPECKS)
    regions, count = ndimage.label(bright)
    if count == 0:
        return None, 0.0
    areas = np.bincount(regions.ravel())[1:]
    pieces = np.isin(regions, np.flatnonzero(areas >= PIECE * areas.max()) + 1)
    covered = float(pieces.mean())
    if covered > MOST_OF_FRAME:
        # Its hull would be larger still.
        return None, covered
    sheet = hull_of(pieces)
    if is_sheet(grey, pieces, sheet):
        return sheet, covered
    if np.count_nonzero(pieces) == areas.max() or (rectangle(sheet, ELONGATION) and not bare(pieces, sheet)):
        # One piece, or a note a heavy scribble cut in two.
        return None, covered
    # A bright patch of the desk, as large as a fifth of the sheet, bent the hull round both, or the frame
    # cut it, or its rim was no step: the largest piece alone may be the sheet.
    largest = regions == np.argmax(areas) + 1
    sheet = hull_of(largest)
    return (sheet if is_sheet(grey, largest, sheet) else None), covered


def hull_of(pieces: np.ndarray) -> np.ndarray:
    """The convex hull of the pieces, worked out over their box alone (over the whole frame it cost 7 ms)."""
    box = box_of(pieces)
    hull = np.zeros_like(pieces)
    hull[box] = convex_hull_image(pieces[box])
    return hull


def bare(pieces: np.ndarray, sheet: np.ndarray) -> bool:
    """Whether the bright pieces fill at least BARE of their hull `sheet`."""
    return np.count_nonzero(pieces) >= BARE * np.count_nonzero(sheet)


def is_sheet(grey: np.ndarray, pieces: np.ndarray, sheet: np.ndarray) -> bool:
    """Whether the hull `sheet` of the bright `pieces` is a sheet lying on a darker desk: its size, the sides the
    frame cuts, how bare and how rectangular it is, and the step at its edge (LEAST_OF_FRAME to STEP)."""
    sides_cut = sum(bool(side.any()) for side in (sheet[0], sheet[-1], sheet[:, 0], sheet[:, -1]))
    if not LEAST_OF_FRAME <= sheet.mean() <= MOST_OF_FRAME or sides_cut > SIDES_CUT or not bare(pieces, sheet) \
            or not rectangle(sheet, ELONGATION):
        return False
    outside = ndimage.binary_dilation(sheet, iterations=EDGE) & ~sheet
    rim = sheet & ~ndimage.binary_erosion(sheet, iterations=EDGE)
    return bool(np.median(grey[outside]) < STEP * np.median(grey[rim]))
