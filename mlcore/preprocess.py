"""Any drawing to an MNIST-like 28x28 input, the way MNIST itself was made.

MNIST digits were size-normalised to fit a 20x20 box keeping their aspect ratio,
anti-aliased, then centred by their centre of mass in a 28x28 frame. Doing the same to a
drawing makes its size, position and canvas irrelevant to the model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

BOX = 20
FRAME = 28
# Ink below this fraction of the strongest stroke is background noise (JPEG ringing, paper grain).
INK_THRESHOLD = 0.15
# A drawing whose strongest ink differs from the paper by less than this is blank.
MIN_CONTRAST = 0.12
# Larger images are first shrunk to about this side: still 20 times the model's input, while a
# 4096x4096 upload would otherwise cost hundreds of megabytes of float arrays per request.
WORKING_SIDE = 560
# A stray tap is a speck of ink no wider than this share of the drawing's side (the page's widest
# pen is 1/9 of it) and at least this share of the side clear of the main stroke.
TAP_SIDE = 0.13
TAP_GAP = 0.06
# ...and holding at most this share of the ink: three dots side by side are a drawing, not taps.
TAP_SHARE = 0.15
TAP_GRID = 140
# A drawing whose largest mark holds less of its ink has no stray taps: it is made of many marks,
# a dotted digit's, a word's or a number's, and the largest is no drawing without the rest. Where
# its marks are each at most DOT_SIDE of its extent too, they are dots or dashes (a word's or a
# number's glyphs are larger), and a closing DOTS_GAP of its extent wide joins them.
DOTS_MAIN_SHARE = 0.4
DOT_SIDE = 0.35
DOTS_GAP = 0.15
# A pen thinner than THIN_PEN of the drawing's extent (a 1-pixel line on a 1000-pixel canvas)
# leaves the model a faint ghost once the drawing is fitted into 20x20; it is widened to
# READABLE_PEN, about MNIST's own pen. Its width is judged on a grid of at most PEN_GRID blocks.
THIN_PEN = 0.04
READABLE_PEN = 0.09
PEN_GRID = 112
# A screenshot may carry a frame: rings of one tone at the edge, up to FRAME_SHARE of the side,
# around paper of another. Tones within ONE_TONE of their median are one tone.
FRAME_SHARE = 0.05
ONE_TONE = 0.06
# A box round the drawing (a form's) holds marks spanning at least BOXED of it; at most BOX_INSIDE
# of its own ink lies further than BOX_EDGE of its side from its edges, and its ink runs along at
# least BOX_SIDES of each side.
BOXED = 0.25
BOX_EDGE = 0.12
BOX_INSIDE = 0.05
BOX_SIDES = 0.8
# A pixel this opaque is opaque. A picture with transparency is marks on a transparent sheet
# (a digit covers a tenth to a third of its canvas), unless more than MOST_OPAQUE_MARKS of it is
# opaque, or its opaque pixels fill SOLID_BLOCK of their bounding box (a window however wide its
# shadow, a sticker), and less than ONE_TONE_MARKS of them is of one tone: then it is a picture in
# its colours with a transparent margin (a screenshot of a window with its shadow, rounded
# corners), where a digit of ordinary size may be a thousandth of the window.
OPAQUE = 0.98
MOST_OPAQUE_MARKS = 0.5
SOLID_BLOCK = 0.9
ONE_TONE_MARKS = 0.9999
# A transparent sheet's pixels keep a colour of their own. Where nearly all (ONE_TONE_SHEET) are of one tone and
# the marks lie at least SHEET_CONTRAST from it, the tone tells which opaque pixels are the paper's.
ONE_TONE_SHEET = 0.99
SHEET_CONTRAST = 0.25
# Uploads of MNIST test digits at 16 and 20 pixels a side were read 74 and 90 % right as photos,
# at 32 pixels 100 % (dark ink on light; light on dark 86, 97 and 99 %), as drawings 99.7 %.
SMALLEST_PHOTO = 32
# A drawing is bi-level when at most this share of its ink is of a tone between paper and full
# ink: a scan thresholded to black and white, or a drawing made without anti-aliasing. Where it is
# at most SOFT_UP_TO pixels a side, its edges are softened by SOFT_EDGE of its own pixels (the
# sigma of a Gaussian); larger ones are anti-aliased by being shrunk into the 20x20 box.
BI_LEVEL_SHARE = 0.05
SOFT_UP_TO = 3 * BOX
SOFT_EDGE = 0.7
# An image sent without saying whether it is a photo is read as one when its paper is marked:
# ink of at least MARK_INK of the strongest covers more than MARKED_PAPER of the paper lying
# CLEAR_OF_DRAWING of its side from any ink of half the strongest (the drawing). A light gradient,
# a shadow, grain or squared paper marks it; a drawing's own anti-aliased, blurred or JPEG edges
# do not. Judged on a grid of at most MARK_GRID blocks a side. On held-out digits, drawings of
# every kind measured at most 0.0062 (MNIST's enlarged tenfold), scans at least 0.013.
MARK_INK = 0.08
MARKED_PAPER = 0.01
CLEAR_OF_DRAWING = 0.1
MARK_GRID = 140
# ...or where its paper is grainy, as a camera's sensor leaves it and no screen does: more than
# GRAINY of the pixels of a grid at most GRAIN_GRID a side differ from the median of the 3x3 round
# them. Held-out digits drawn at 140 to 1000 pixels, as PNG, JPEG or WebP at quality 20 to 90, and
# MNIST's enlarged tenfold, measured at most 0.22; synthetic and audit 10B's photos at least 0.27,
# nearly all over 0.5.
GRAIN_GRID = 160
GRAINY = 0.35


class BlankDrawingError(ValueError):
    """The image holds no ink to recognise."""


def alpha_of(image: Image.Image) -> np.ndarray | None:
    """The image's opacity in [0, 1] where some of it is transparent and its transparency varies
    (by MIN_CONTRAST at least), else None: a picture exported at one opacity throughout is its
    colours."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        alpha = (image if image.mode in ("RGBA", "LA") else image.convert("RGBA")).getchannel("A")
        low, high = alpha.getextrema()
        if low < OPAQUE * 255 and high - low >= MIN_CONTRAST * 255:
            return np.asarray(alpha, dtype=np.float32) / 255
    return None


def marks_on_transparency(image: Image.Image) -> np.ndarray | None:
    """The ink of an image drawn on a transparent sheet: each pixel's opacity above the sheet's, in
    [0, 1], whatever the colour of its pixels (a stroke of any colour on a transparent canvas, or on
    a half-transparent white one). The sheet is the border's opacity, or the whole image's where
    that is less (an opaque frame round a transparent sheet). None where the image has no varying
    transparency, or where its colours hold the picture: most of it opaque, or its opaque part one
    solid block, and of more than one tone, the transparency a margin beside it (a window's shadow
    in a screenshot, rounded corners)."""
    alpha = alpha_of(image)
    if alpha is None:
        return None
    opaque = alpha >= OPAQUE
    if opaque.mean() > MOST_OPAQUE_MARKS or solid(opaque):
        grey = sample(np.asarray(image.convert("L"))[opaque]).astype(np.float32) / 255
        if _one_tone(grey, ONE_TONE_MARKS) is None:
            return None
    sheet = min(float(np.median(_ring(alpha, 0))), float(np.median(sample(alpha.ravel()))))
    return np.clip((alpha - sheet) / max(1 - sheet, 1 / 255), 0, 1) * unlike_the_sheet(image, alpha)


def unlike_the_sheet(image: Image.Image, alpha: np.ndarray) -> np.ndarray | float:
    """How unlike the transparent sheet's own colour each pixel's tone is, in [0, 1], the marks least like it
    1; 1 throughout where that colour tells nothing: the transparent pixels of more than one tone, or no mark
    SHEET_CONTRAST from theirs (a canvas's strokes, in any colour, on its transparent black or white).

    A picture whose paper was made transparent by its colour ("set transparent colour", white) keeps, opaque,
    the pixels a resampling left nearly as light round its strokes: as opacity alone they were ink, and a
    digit read as a photo was a blob, answered "not a digit"."""
    grey = np.asarray(image.convert("L"), dtype=np.float32) / 255
    sheet = _one_tone(sample(grey[alpha == 0]), ONE_TONE_SHEET) if (alpha == 0).any() else None
    if sheet is None:
        return 1.0
    distance = np.abs(grey - sheet)
    farthest = float(np.percentile(sample(distance[alpha >= OPAQUE]), 99)) if (alpha >= OPAQUE).any() else 0.0
    return np.clip(distance / farthest, 0, 1) if farthest >= SHEET_CONTRAST else 1.0


def box_of(mask: np.ndarray) -> tuple[slice, slice] | None:
    """The (rows, columns) bounding box of the mask's pixels; None where it has none."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)) if rows.size else None


def solid(mask: np.ndarray) -> bool:
    """Whether the mask is one solid block: it fills at least SOLID_BLOCK of its bounding box."""
    box = box_of(mask)
    return box is not None and bool(mask.sum() >= SOLID_BLOCK * mask[box].size)


def without_transparency(image: Image.Image) -> Image.Image:
    """The image in colour (RGB) or grey (L), without its alpha: a pixel that is not opaque is
    painted as the opaque ones' median colour, their paper (see marks_on_transparency)."""
    alpha = alpha_of(image)
    colour = image.convert("L" if Image.getmodebase(image.mode) == "L" else "RGB")
    if alpha is None:
        return colour
    pixels = np.array(colour)
    opaque = alpha >= OPAQUE
    if opaque.any():
        pixels[~opaque] = np.median(sample(pixels[opaque]), axis=0)
    return Image.fromarray(pixels)


def sample(values: np.ndarray, most: int = 65_536) -> np.ndarray:
    """At most about `most` of the values, evenly spaced: enough for a median, at a bounded cost."""
    return values[::max(1, len(values) // most)]


def ink_map(image: Image.Image, paper: float | None = None) -> np.ndarray:
    """Ink strength in [0, 1] per pixel, whatever the mode, ink colour or transparency.

    Where the image is drawn on a transparent sheet, ink is its opacity. Otherwise the paper is
    `paper` (its grey, 0 to 1) where the caller knows it, else the colour of the border, so dark
    ink on light paper and light ink on dark paper both read as ink.
    """
    ink = marks_on_transparency(image)
    if ink is not None:
        return ink
    grey, border = unframed(np.asarray(without_transparency(image).convert("L"), dtype=np.float32) / 255)
    return np.abs(grey - (border if paper is None else paper))


def _ring(grey: np.ndarray, depth: int) -> np.ndarray:
    inner = slice(depth, -depth or None)
    return np.concatenate([grey[depth, inner], grey[-1 - depth, inner], grey[inner, depth], grey[inner, -1 - depth]])


def _one_tone(values: np.ndarray, share: float) -> float | None:
    """The values' median if at least `share` of them are of its tone, else None."""
    median = float(np.median(values))
    return median if (np.abs(values - median) < ONE_TONE).mean() >= share else None


def unframed(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """The grey image with any frame painted over as paper, and the paper's tone.

    The paper is the border's tone, unless the border is a frame: rings of one tone inside which
    the paper shows as a ring of another, nearly all of one tone itself. A digit cropped tight has
    no such ring: the first ring of another tone inside its paper is its ink.
    """
    edge = _one_tone(_ring(grey, 0), 0.95)
    if edge is None:
        return grey, float(np.median(_ring(grey, 0)))
    for depth in range(1, int(FRAME_SHARE * min(grey.shape)) + 1):
        ring = _ring(grey, depth)
        if abs(float(np.median(ring)) - edge) <= ONE_TONE / 2:
            if _one_tone(ring, 0.95) is None:
                break
            continue
        inside = _one_tone(ring, 0.8)
        if inside is None:
            break
        framed = grey.copy()
        framed[:depth], framed[-depth:], framed[:, :depth], framed[:, -depth:] = inside, inside, inside, inside
        return framed, inside
    return grey, edge


def with_readable_pen(ink: np.ndarray) -> np.ndarray:
    """The ink map, its strokes widened to READABLE_PEN of its extent where they are thinner than
    THIN_PEN of it; on a grid of at most PEN_GRID blocks a side, which keeps every thin line whole
    (blocks take their strongest ink) and bounds the cost at any canvas size."""

    box = box_of(ink > INK_THRESHOLD * ink.max())
    if box is None:
        return ink
    drawing = ink[box]
    drawing = block_maxima(drawing, max(1, max(drawing.shape) // PEN_GRID))
    mask = drawing > INK_THRESHOLD * drawing.max()
    # A stroke's area over half its outline is its width.
    outline = int((mask & ~ndimage.binary_erosion(mask)).sum())
    pen = 2 * int(mask.sum()) / max(outline, 1)
    extent = max(drawing.shape)
    radius = round((READABLE_PEN * extent - pen) / 2)
    if pen >= THIN_PEN * extent or radius < 1:
        return ink
    # Steps of a 3x3 cross and a 3x3 square in turn grow an octagon, near enough a round pen, at a
    # fraction of the cost of one large round footprint.
    widened = np.pad(drawing, radius)
    for step in range(radius):
        widened = ndimage.grey_dilation(widened, footprint=ndimage.generate_binary_structure(2, 1 + step % 2))
    return widened


def block_maxima(ink: np.ndarray, block: int) -> np.ndarray:
    """The strongest ink of each `block` x `block` square, those at the far edges cut short: a
    coarse grid on which no thin line fades."""
    if block == 1:
        return ink
    padded = np.zeros((-(-ink.shape[0] // block) * block, -(-ink.shape[1] // block) * block), ink.dtype)
    padded[:ink.shape[0], :ink.shape[1]] = ink
    # Strided slices, not a reshape's maximum over two axes: about ten times as fast.
    return np.maximum.reduce([padded[row::block, col::block] for row in range(block) for col in range(block)])


def normalise(ink: np.ndarray, min_contrast: float = MIN_CONTRAST, source: str = "drawing") -> np.ndarray:
    """Crop an ink map to its ink, fit it into 20x20 keeping aspect, centre by mass in 28x28; an ink
    map whose strongest ink is under `min_contrast` is blank, as the error says of its `source`."""
    strongest = float(ink.max()) if ink.size else 0.0
    if strongest < min_contrast:
        raise BlankDrawingError(f"the {source} is blank: no ink found")
    ink = ink / strongest
    cropped = with_soft_edges(ink[box_of(ink > INK_THRESHOLD)])

    height, width = cropped.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    fitted = np.asarray(Image.fromarray(cropped, mode="F").resize(size, Image.Resampling.LANCZOS))
    fitted = np.clip(fitted, 0.0, 1.0)

    mass = fitted.sum()
    ys, xs = np.indices(fitted.shape)
    centre_y = (ys * fitted).sum() / mass
    centre_x = (xs * fitted).sum() / mass
    top = int(round(FRAME / 2 - centre_y))
    left = int(round(FRAME / 2 - centre_x))
    # Centring by mass may push a lopsided digit past the frame; keep it whole instead.
    top = min(max(top, 0), FRAME - fitted.shape[0])
    left = min(max(left, 0), FRAME - fitted.shape[1])

    frame = np.zeros((FRAME, FRAME), dtype=np.float32)
    frame[top:top + fitted.shape[0], left:left + fitted.shape[1]] = fitted
    return frame


def with_soft_edges(ink: np.ndarray) -> np.ndarray:
    """A small bi-level ink map with its edges softened, any other unchanged.

    MNIST's digits were anti-aliased as they were shrunk into 20x20, so their edges are grey. A
    black-and-white scan of about that size has staircase edges instead, which the model never
    saw: MNIST test digits scanned so at 16x16 were read 97.9 % right, softened 98.6 %.
    """
    if max(ink.shape) > SOFT_UP_TO:
        return ink
    inked = ink > INK_THRESHOLD
    between = inked & (ink < 1 - INK_THRESHOLD)
    if between.sum() > BI_LEVEL_SHARE * inked.sum():
        return ink

    return ndimage.gaussian_filter(ink, SOFT_EDGE)


def coarse_marks(ink: np.ndarray) -> tuple[np.ndarray, int, int, int]:
    """The ink's connected marks on a coarse grid of block maxima, which keeps every thin stroke
    whole and costs a large canvas what a small one costs: their labels, count, the block's side,
    and the grid's side."""

    block = max(1, max(ink.shape) // TAP_GRID)
    fine = Image.fromarray(((ink > INK_THRESHOLD * ink.max()) * 255).astype(np.uint8))
    mask = np.asarray(fine.reduce(block)) > 0
    labels, count = ndimage.label(mask)
    return labels, count, block, max(mask.shape)


def without_box(ink: np.ndarray) -> np.ndarray:
    """The ink map less a box round the drawing, as a form prints one for each digit.

    A box is the largest mark, whose own box holds the other marks clear of it (any beside it lie
    wholly outside), with nearly all its ink near its edges and along each whole side; what it
    holds spans at least BOXED of it (a dot in a square is a drawing of its own). A circle round a
    digit leaves its box's corners empty, and a box the digit touches is one mark with it: both
    are left as they are.
    """

    labels, count, block, _ = coarse_marks(ink)
    if count < 2:
        return ink
    boxes = ndimage.find_objects(labels)
    outer = max(range(count), key=lambda label: extent_of(boxes[label]))
    rows, cols = boxes[outer]
    others = [box for label, box in enumerate(boxes) if label != outer]
    inner = [(r, c) for r, c in others
             if rows.start < r.start and r.stop < rows.stop and cols.start < c.start and c.stop < cols.stop]
    # A mark wholly outside (a speck, a tap) is no part of the box or of what it holds.
    crossing = [(r, c) for r, c in others if (r, c) not in inner
                and r.start < rows.stop and rows.start < r.stop and c.start < cols.stop and cols.start < c.stop]
    if crossing or not inner:
        return ink
    held = max(max(r.stop for r, _ in inner) - min(r.start for r, _ in inner),
               max(c.stop for _, c in inner) - min(c.start for _, c in inner))
    if held < BOXED * extent_of((rows, cols)):
        return ink
    shape = labels[rows, cols] == outer + 1
    band = max(1, round(BOX_EDGE * min(shape.shape)))
    sides = (shape[:band].any(axis=0), shape[-band:].any(axis=0),
             shape[:, :band].any(axis=1), shape[:, -band:].any(axis=1))
    inside = shape[band:-band, band:-band].sum()
    if inside > BOX_INSIDE * shape.sum() or min(side.mean() for side in sides) < BOX_SIDES:
        return ink
    # One block round the box's own takes its faint anti-aliased rim; the marks it holds are clear of it.
    grown = ndimage.binary_dilation(labels == outer + 1, structure=np.ones((3, 3)))
    return np.where(np.kron(grown, np.ones((block, block), bool))[:ink.shape[0], :ink.shape[1]], 0, ink)


def extent_of(box: tuple[slice, slice]) -> int:
    rows, cols = box
    return max(rows.stop - rows.start, cols.stop - cols.start)


def without_stray_taps(ink: np.ndarray) -> np.ndarray:
    """The ink map less any lone tap beside the drawing or far from it.

    A finger or pen landing by mistake leaves a dot the crop would otherwise keep, shrinking and
    shifting the digit (v4 read 96.1 % of re-drawn digits with such a dot, 99.0 % without).
    A dot right above or below the main stroke, close to it, is kept: it is what makes a "!", a
    "?" or an "i", which must stay "not a digit".
    """

    labels, count, block, side = coarse_marks(ink)
    if count < 2:
        return ink
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    if sizes.max() < DOTS_MAIN_SHARE * sizes.sum():
        return ink
    boxes = ndimage.find_objects(labels)
    main = boxes[int(np.argmax(sizes))]
    main_height = main[0].stop - main[0].start
    taps = []
    for (rows, cols), size in zip(boxes, sizes):
        gap = max(main[0].start - rows.stop, rows.start - main[0].stop,
                  main[1].start - cols.stop, cols.start - main[1].stop, 0)
        beside = cols.start >= main[1].stop or cols.stop <= main[1].start
        small = max(rows.stop - rows.start, cols.stop - cols.start) <= TAP_SIDE * side
        if small and gap >= TAP_GAP * side and (beside or gap >= main_height / 2) and size <= TAP_SHARE * sizes.sum():
            taps.append((rows, cols))
    if not taps:
        return ink
    cleaned = ink.copy()
    for rows, cols in taps:
        # One block of margin takes the tap's faint anti-aliased rim; the gap keeps the drawing clear.
        cleaned[max(rows.start - 1, 0) * block:(rows.stop + 1) * block,
                max(cols.start - 1, 0) * block:(cols.stop + 1) * block] = 0
    return cleaned


def made_of_dots(labels: np.ndarray, count: int) -> bool:
    """Whether a drawing's marks (`coarse_marks`' labels and count) are dots or dashes: none holds
    DOTS_MAIN_SHARE of the ink, and none spans more than DOT_SIDE of the drawing."""

    if count < 2:
        return False
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    largest = max(extent_of(box) for box in ndimage.find_objects(labels))
    return bool(sizes.max() < DOTS_MAIN_SHARE * sizes.sum() and largest <= DOT_SIDE * marks_extent(labels))


def marks_extent(labels: np.ndarray) -> int:
    """The larger side of the box round all the labelled marks."""
    rows, cols = np.nonzero(labels)
    return max(np.ptp(rows), np.ptp(cols)) + 1


def with_dots_joined(ink: np.ndarray) -> np.ndarray:
    """The ink map of a drawing made of dots or dashes with the gaps between them inked.

    Scattered specks are no digit to the model: of 200 held-out digits re-drawn dotted, 54 % were
    read right (33 % "not a digit"), dashed 76 %. Joined by a closing on a grid half as fine as
    `coarse_marks`', which bounds its cost, 98.5 % and 98 %.
    """

    labels, count, block, _ = coarse_marks(ink)
    if not made_of_dots(labels, count):
        return ink
    # A grid of half the marks' resolution is fine enough for a gap and makes the closing cheap.
    block *= 2
    radius = round(DOTS_GAP * marks_extent(labels) / 4)
    y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    closed = ndimage.grey_closing(block_maxima(ink, block), footprint=x * x + y * y <= radius * radius)
    return np.maximum(ink, np.kron(closed, np.ones((block, block), ink.dtype))[:ink.shape[0], :ink.shape[1]])


def shrink(image: Image.Image) -> Image.Image:
    """Box-average a large image down to about WORKING_SIDE, keeping thin strokes as faint ink."""
    factor = max(image.size) // WORKING_SIDE
    if factor < 2:
        return image
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        # Pillow reduces no 1-bit or palette image; a 1-bit one needs no more than grey.
        image = image.convert("L" if image.mode == "1" else "RGBA")
    return image.reduce(factor)


def on_marked_paper(ink: np.ndarray) -> bool:
    """Whether faint ink marks the paper well clear of the drawing, as light, grain or printed lines
    mark a scan or a photo, and nothing marks a drawing made on a screen."""

    strongest = float(ink.max())
    if strongest < MIN_CONTRAST:
        return False
    coarse = block_maxima(ink, max(1, max(ink.shape) // MARK_GRID)) / strongest
    reach = round(CLEAR_OF_DRAWING * max(coarse.shape))
    clear = ~ndimage.maximum_filter(coarse > 0.5, size=2 * reach + 1, mode="constant")
    return bool((clear & (coarse > MARK_INK)).sum() > MARKED_PAPER * max(int(clear.sum()), 1))


def grainy(ink: np.ndarray) -> bool:
    """Whether the ink map's paper is grainy, as a photo's is (GRAINY)."""

    step = -(-max(ink.shape) // GRAIN_GRID)
    grid = ink[::step, ::step]
    # Ink maps come from 8-bit pixels: half a grey level apart is unlike.
    return float(np.mean(np.abs(grid - ndimage.median_filter(grid, 3)) > 0.5 / 255)) > GRAINY


def empty_input() -> np.ndarray:
    """The model input of a drawing too slight to be a digit (`render.is_speck`): an empty frame,
    which a model with a "not a digit" output reads as none."""
    return np.zeros((FRAME, FRAME), dtype=np.float32)


def read_as_photo(image: Image.Image, photo: bool | None) -> tuple[bool, np.ndarray | None]:
    """Whether `to_mnist_input` reads the image as a photo, as its sender says (`photo`) or, unsaid (None), as
    its paper looks; and its ink map as a drawing's where that was made to tell."""
    if min(image.size) < SMALLEST_PHOTO:
        return False, None
    if photo is None:
        ink = ink_map(shrink(image))
        return on_marked_paper(ink) or grainy(ink), ink
    return photo, None


def read_image(image: Image.Image, photo: bool | None = False,
               likeliest: Callable[[np.ndarray, int, bool], int] | None = None,
               paper: float | None = None) -> tuple[np.ndarray, bool]:
    """A drawing, or with `photo` a photo of a digit, as a float32 (28, 28) array in [0, 1],
    bright ink on black, like MNIST; and whether it was read as a photo (a model answers a photo's
    reading "not a digit" more readily: `mlcore.predict.Predictor.predict`).

    A drawing's paper is its border's tone (`ink_map`), unless `paper` gives it: strokes rendered
    by `render.render_strokes` lie on white, however much of the canvas, border and all, they ink.

    Where the sender says whether the image is a photo (an upload), that is the reading: a
    drawing's border is its paper, a photo's is not. Where it does not (`photo` None), an image
    on marked or grainy paper (`on_marked_paper`, `grainy`) is read as a photo, any other as a
    drawing: the drawing path reads a scan on squared paper or under a light gradient as one grey
    blob, and an evenly lit photo's digit among the paper's grain often as no digit.
    Where a photo's polarity is in doubt (dark ink in a dim room or chalk on a board), or its
    pen nearly fills the background's window (a close-up), it is read more than one way and
    `likeliest` (a model's judgement) picks the reading from their (N, 28, 28) stack, given the
    number of them that read the likeliest mark (the others read its rivals, taken only where none
    of those is a digit to the model) and whether the image is a screenshot of photos
    (`mlcore.predict.Predictor.likeliest_digit`); without it,
    the first reading is the one. An image under SMALLEST_PHOTO pixels a side is read as a
    drawing whatever its sender says: no camera makes one, and the photo's background windows
    need more pixels than it has.
    """
    photo, ink = read_as_photo(image, photo)
    if photo:
        # Imported here: the photo path is a large module that drawings never need.
        from .photo import readings

        inputs, first, screenshot = readings(image, every=likeliest is not None)
        return inputs[likeliest(inputs, first, screenshot) if len(inputs) > 1 else 0], True
    ink = ink_map(shrink(image), paper) if ink is None else ink
    return normalise(with_readable_pen(with_dots_joined(without_stray_taps(without_box(ink))))), False


def to_mnist_input(image: Image.Image, photo: bool | None = False,
                   likeliest: Callable[[np.ndarray, int, bool], int] | None = None,
                   paper: float | None = None) -> np.ndarray:
    """`read_image`'s (28, 28) input alone."""
    return read_image(image, photo, likeliest, paper)[0]
