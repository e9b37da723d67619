"""A phone photo of a digit written on paper, a whiteboard or a blackboard to an ink map of the digit.

A photo is not a drawing: its paper is lit unevenly, shadows cross it, the digit is small
somewhere in the frame, and other marks (ruled lines, the paper's edge, specks) are in it too.
So, at a bounded working resolution:

1. turn the pixels upright as the EXIF orientation tag says, cut the photos out of a screenshot of
   an app showing them (`screen`: the app's tone is flat, as no camera's surface is; the screenshot
   whole is read too, and a model weighs them), and set aside a finger holding the paper down, with its
   shadow: skin is warmer than the paper around it and than ink (red above green above blue), a
   finger wider than a pen's stroke or a punched hole, and it enters across the frame's border,
   which a desk seen beyond the sheet's edge runs along; where a sheet or a note lies small on a darker
   desk, or a blackboard hangs on a lighter wall, read it close up, the desk or the wall left out (`sheet`);
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
   ink, which the glare washed out as much as the paper; where the stripes of shadow a window
   blind casts are narrower than the window, which takes them for ink, on paper they are divided
   out along their length (`surface.without_stripes`), and where they are still ink the window is
   narrowed until it keeps them (`surface.striped`);
4. threshold the flattened ink above the paper's own noise and pick the digit: the strongest
   group of marks clear of the frame's border (or one touching it that outweighs them many
   times: a close-up), with the nearby marks that belong to it (a 5's detached bar; a number's next
   digit, so that a number reads as none), without specks or long straight lines reaching the border
   (a 1 clear of it is no ruled line) or slivers along it (the desk beyond a sheet's edge the frame
   cuts), and without a reader's circle round it
   or line under it; a rectangle (a note, a card) is no writing, where the whole note on a dark desk
   is read as light ink.
5. where that digit is only a few tens of pixels, do it all again on a close-up of the
   original pixels around it.

The result is an ink map like `preprocess.ink_map` gives for a drawing, so the usual MNIST
normalisation follows. Where the polarity is in doubt (a dim room's paper is as dark as a
board), the photo is read both ways, where the pen is nearly as wide as the background's
window (a close-up), with a wider window too; a model chooses. Where a ruled page's lines show it
turned, the digit is read turned back upright: people write level with the lines.

Steps 1 to 3 are `surface`'s (the screenshot's cut `screen`'s, the sheet's close-up `sheet`'s), step 4
`marks`'; this module runs them, and step 5.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from ..exif import upright
from ..preprocess import BlankDrawingError, box_of, extent_of, marks_on_transparency, normalise, without_transparency
from . import screen, sheet
from .marks import FAINT_MARK, MIN_INK, digit_masks, measured_stroke_width, page_turn, rectangle, stands_out
from .surface import (MIN_WINDOW, covered, dark_ink_surface, flattened, ink_polarities, lit_background, pens, reduced,
                      striped, stripes_along, under_glare, without_stripes)

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
# The digit's strokes are filled by a closing this many pens wide before shadows are
# reconstructed, and the background is at most a closing this many pens wide: wider than a
# stroke, a junction or a small loop, narrower than most of a shadow's tip.
STROKE_FILL = 2
STROKE_WINDOW = 4
# People write level with a ruled page's lines: where its ruled lines (or its margin) show the page
# turned more than MIN_TURN degrees, the digit is read turned back upright instead; the model was
# trained on digits turned up to 10 degrees. Read so in place of the turned reading, photos of
# turned ruled pages were read as well or better than with both weighed, and photographed non-digits
# on them were answered "not a digit" more often: a second reading is a second chance to look like
# a digit.
MIN_TURN = 10
# A digit spanning less than this share of the working photo's short side (20 of a 4:3 photo's
# 288 pixels) is read again from the original pixels around it, in a close-up this many times
# its extent: at the working resolution a digit a twentieth of the frame high is a dozen
# pixels, in the close-up a quarter of the frame, as large as the photos the steps above are
# tuned on. Chosen on photos of training digits among 0.06 to 0.12.
SMALL_DIGIT = 0.07
CLOSE_UP = 4
# Below this many original pixels to each working one, a close-up holds too few more to be worth a second pass.
MIN_CLOSE_UP_SCALE = 1.5
# The marks read as the digit where a model weighs the readings: the chosen one and up to two
# rivals (`marks.RIVAL`).
MARKS_READ = 3
# A reading whose ink (its 90th percentile) is under this share of the strongest reading's is a
# shadow's edge or tip taken for a mark, by a rival or by the wide window, not a pen's stroke:
# weighed by the model, it was the likeliest digit where the photo's marks were no digit. Chosen
# among 0.3 to 0.7 on 320 photographed non-digits and 400 photos of training digits, apart from
# the photos the README measures: the most non-digits caught (293 -> 296) with no digit lost.
FAINT_READING = 0.5


def working_photo(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """The photo as upright greyscale in [0, 1], its long side at most WORKING_SIDE, and where a
    finger covers the paper there (None where nothing does).

    An image drawn on a transparent sheet is a drawing exported rather than a photo: its
    transparent pixels are white paper and its opacity dark ink."""
    image = upright(image)
    if "A" in image.getbands() or "transparency" in image.info:
        # Shrunk first, as far as the working side allows: read at full size, a 2048x2048 sheet's
        # transparency cost ten times the rest of the photo's reading.
        image = image.convert("LA" if Image.getmodebase(image.mode) == "L" else "RGBA")
        image = image.reduce(max(1, max(image.size) // WORKING_SIDE))
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


def turned(ink: np.ndarray, degrees: float) -> np.ndarray:
    """The ink map's ink turned `degrees` counter-clockwise, whole."""
    rows, cols = np.nonzero(ink)
    box = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    return np.clip(ndimage.rotate(box, degrees, order=1, reshape=True), 0, 1)


def photo_ink(image: Image.Image, light_ink: bool | None = None) -> np.ndarray:
    """The digit's ink in [0, 1] over the upright working-resolution photo, zero elsewhere; the
    ink light (chalk) or dark as `light_ink` says, by default as is likelier for this photo."""
    grey, finger = working_photo(image)
    grey, window = fitted(grey, finger)
    inks, _, _ = ink_over(grey, finger, window, ink_polarities(grey, window)[0] if light_ink is None else light_ink,
                          find_turn=False)
    return inks[0]


def background_window(grey: np.ndarray, share: float = BACKGROUND_WINDOW) -> int:
    return max(3, round(min(grey.shape) * share))


def fitted(grey: np.ndarray, finger: np.ndarray | None) -> tuple[np.ndarray, int]:
    """The working photo and the background's window (`background_window`). Where the window takes the stripes
    of a window blind's shadow for ink (`surface.stripes_along`), on paper they are divided out along their
    length first (`surface.without_stripes`); where the window still takes them for ink, it is the widest of
    its halves that does not, down to MIN_WINDOW."""
    window = background_window(grey)
    ink = first_ink(grey, finger, window, light_ink=False)[2]
    along = stripes_along(ink)
    # On a board, the brightest along the stripes would be its chalk where they cross it.
    if along is not None and ink_polarities(grey, window) != (True,):
        grey = without_stripes(grey, along)
        ink = first_ink(grey, finger, window, light_ink=False)[2]
    while window > MIN_WINDOW and striped(ink):
        window = max(MIN_WINDOW, window // 2)
        ink = first_ink(grey, finger, window, light_ink=False)[2]
    return grey, window


def first_ink(grey: np.ndarray, finger: np.ndarray | None, window: int,
              light_ink: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The surface with dark ink, its closing, and its ink over the background the closing and the
    shadows reconstructed beneath it give, where no finger covers it."""
    surface, closing = dark_ink_surface(grey, window, light_ink)
    return surface, closing, uncovered(flattened(surface, lit_background(surface, closing, surface, window)), finger)


def first_pass(grey: np.ndarray, finger: np.ndarray | None, window: int,
               light_ink: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The surface with dark ink, its closing, enough of the digit to measure its pen, though a
    shadow may have flowed into strokes touching it, and the ink of ruled lines fainter than the
    pen (0 where there are none; `marks.digit_masks`)."""
    surface, closing, ink = first_ink(grey, finger, window, light_ink)
    masks, _, ruled = digit_masks(ink, surface=surface)
    return surface, closing, masks[0], ruled


def uncovered(ink: np.ndarray, finger: np.ndarray | None) -> np.ndarray:
    """The ink where no finger covers the paper: a finger's outline and shadow are no ink."""
    return ink if finger is None else np.where(finger, 0, ink).astype(ink.dtype)


def pen_fills_window(grey: np.ndarray, finger: np.ndarray | None, window: int, light_ink: bool) -> bool:
    """Whether the digit's pen is nearly as wide as `window`, as a first pass with the wide window
    at half the resolution finds it: cheap enough to ask of every photo."""
    half = reduced(grey, 2)
    try:
        half_finger = None if finger is None else reduced(finger.astype(np.float32), 2) > 0.5
        first = first_pass(half, half_finger, background_window(half, WIDE_WINDOW), light_ink)[2]
    except BlankDrawingError:
        return False
    return 2 * measured_stroke_width(first) >= THICK_PEN * window


def ink_over(grey: np.ndarray, finger: np.ndarray | None, window: int, light_ink: bool,
             find_turn: bool = True, marks: int = 1, enlargeable: bool = False) -> tuple[list[np.ndarray], int, float]:
    """`photo_ink` of the working photo `grey` and of the marks that may be the digit instead, `marks`
    in all at most (`digit_masks`), how many of them are the digit's, and the page's turn its faint lines
    show (`page_turn`; 0 unless
    `find_turn`: a close-up is turned back as its whole photo is). PaperTexture where the chosen marks
    do not stand out from the paper (`marks.stands_out`), unless they are small and the photo `enlargeable`:
    a close-up of its original pixels tells (`closer_if_small`).

    Two passes. The first finds enough of the digit to measure its pen. The second fills those
    strokes (a closing two pens wide, only there) before the shadow is reconstructed, so the
    shadow no longer flows along them into the lit paper, and bounds the background by a
    closing a few pens wide, so of a shadow's tip pointing at the digit only the apex stays ink."""
    surface, closing, first, ruled = first_pass(grey, finger, window, light_ink)
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
    # Filled, the strokes darken the paper round them, and a ruled line they touch joins them there:
    # the lines' ink is as the first pass measured it, apart from the digit.
    masks, chosen, _ = digit_masks(ink, marks, ruled, surface=surface)
    inks = [np.where(ndimage.binary_dilation(mask, iterations=2), ink, 0).astype(np.float32) for mask in masks]
    # A digit small in the frame is faint here, its strokes blurred into the paper: its close-up judges it.
    if not (enlargeable and small(inks[0] > 0)) and not stands_out(ink, masks[0]):
        raise PaperTexture("the photo shows no mark that stands out from the paper: write the digit darker, "
                           "or photograph it closer")
    return inks, chosen, page_turn(ink, masks[0]) if find_turn else 0.0


class PaperTexture(BlankDrawingError):
    """The photo's strongest marks are its paper's own texture, no ink."""


def small(mask: np.ndarray) -> bool:
    """Whether the marks are small enough in the working photo to be read again from a close-up."""
    return extent_of(box_of(mask)) < SMALL_DIGIT * min(mask.shape)


def readings(image: Image.Image, every: bool) -> tuple[np.ndarray, int, bool]:
    """The photo as (N, 28, 28) model inputs, the likeliest reading first and, if `every`, the
    others a model should weigh (`photo_readings`); how many readings come before those of the
    marks that may be the digit instead; and whether the image is a screenshot of photos.

    A screenshot of a photo is read from each photo it shows (`screen.shown_photos`), and whole: the
    flat rectangle cut out may be a box drawn beside the digit, a polaroid's snapshot with the digit
    written on its frame, or an album's other photo, and the model weighs them all (read as a rival
    only, where no photo cut out showed a digit, the whole left 27 more of an audit's 920 screenshots
    and uploads wrong). Without `every`, the whole is read only where the largest photo shows nothing."""
    image = upright(image)
    shown = screen.shown_photos(image)
    chosen, rivals, refusal = [], [], None
    for photo in shown[:None if every else 1] + [image]:
        if photo is image and not every and chosen + rivals:
            break
        try:
            found, others = photo_readings(photo, every)
        except BlankDrawingError as exc:
            refusal = refusal or exc
            continue
        chosen += found
        rivals += others
    if not chosen + rivals:
        raise refusal
    # Where the chosen marks gave no reading, their rivals stand in for them.
    return np.stack(chosen + rivals), len(chosen) or len(rivals), bool(shown)


def photo_readings(image: Image.Image, every: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The upright photo's readings (of the sheet lying in it close up, where `sheet.close_up` finds one): the
    likeliest first and, if `every`, the others a model should weigh: the digit read with each polarity it may
    have (`ink_polarities`), and where its pen nearly fills the background's window, read with the wide window;
    each turned back upright where the page's lines show it turned more than MIN_TURN; a reading in which no
    digit is found gives no input. Then, apart, the marks that may be the digit instead (`marks.digit_masks`),
    read in the same ways. BlankDrawingError where no reading finds a mark."""
    grey, finger = working_photo(image)
    close_up = sheet.close_up(image, grey)
    if close_up is not None:
        image = close_up
        grey, finger = working_photo(image)
    grey, window = fitted(grey, finger)
    polarities = ink_polarities(grey, window)
    ways = []
    for light_ink in polarities[:len(polarities) if every else 1]:
        ways.append((window, light_ink))
        # Under a blind's stripes a wider window takes more of them for ink.
        if every and window == background_window(grey) and pen_fills_window(grey, finger, window, light_ink):
            ways.append((background_window(grey, WIDE_WINDOW), light_ink))
    chosen, rivals, refusal = [], [], None
    for way_window, light_ink in ways:
        try:
            inks, digits, turn = ink_over(grey, finger, way_window, light_ink, marks=MARKS_READ if every else 1,
                                          enlargeable=max(image.size) / max(grey.shape) >= MIN_CLOSE_UP_SCALE)
        except BlankDrawingError as exc:
            refusal = refusal or exc
            continue
        for ink, into in zip(inks, [chosen] * digits + [rivals] * (len(inks) - digits)):
            strength = float(np.percentile(ink[ink > 0], 90))
            try:
                ink = closer_if_small(image, ink, light_ink)
                if rectangle(ink > 0):
                    raise BlankDrawingError("the photo's strongest mark is a rectangle (a note, a card), no writing")
                # The marks were found above the paper's own noise: faint as a thin pen is at the
                # working resolution, they are the digit, not a blank photo.
                into.append((strength, normalise(turned(ink, -turn) if abs(turn) > MIN_TURN else ink,
                                                 min_contrast=MIN_INK, source="photo")))
            except PaperTexture as exc:
                refusal = refusal or exc
                # Where the chosen marks, seen close, are the paper's texture, the others are no ink either.
                if into is chosen:
                    break
            except BlankDrawingError as exc:
                refusal = refusal or exc
    if not chosen + rivals:
        raise refusal
    strongest = max(strength for strength, _ in chosen + rivals)
    return tuple([reading for strength, reading in found if strength >= FAINT_READING * strongest]
                 for found in (chosen, rivals))


def closer_if_small(image: Image.Image, ink: np.ndarray, light_ink: bool) -> np.ndarray:
    """`ink`, or where the digit is small in the working photo, `photo_ink` of a close-up of the
    original pixels around it, in the same polarity; `ink` if the close-up holds none and its ink is dark
    enough to be no paper's texture (FAINT_MARK), else PaperTexture."""
    scale = max(image.size) / max(ink.shape)
    if not small(ink > 0) or scale < MIN_CLOSE_UP_SCALE:
        return ink
    rows, cols = np.nonzero(ink)
    extent = max(np.ptp(rows), np.ptp(cols)) + 1
    turned = upright(image)
    half = CLOSE_UP * extent * scale / 2
    middle_x, middle_y = (cols.min() + cols.max() + 1) / 2 * scale, (rows.min() + rows.max() + 1) / 2 * scale
    box = (max(0, round(middle_x - half)), max(0, round(middle_y - half)),
           min(turned.width, round(middle_x + half)), min(turned.height, round(middle_y + half)))
    try:
        return photo_ink(turned.crop(box), light_ink)
    except PaperTexture:
        raise
    except BlankDrawingError:
        # The close-up holds no mark clear of its border: the small mark was a piece of something larger
        # (an empty note's edge), or nothing; only ink dark enough to be no paper's texture is read as it is.
        if np.percentile(ink[ink > 0], 90) < FAINT_MARK:
            raise PaperTexture("the photo shows no mark that stands out from the paper: write the digit darker, "
                               "or photograph it closer")
        return ink
