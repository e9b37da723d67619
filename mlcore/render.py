"""Strokes to a drawing image: the one rendering the site, the drawn evaluation set and training share.

A stroke is a sequence of points (x, y) given as fractions of a square canvas's side, in the
order they were drawn. The pen is round and uniform, as the page's canvas draws it: lines
curve through the midpoints between samples, and a stroke of one point is a dot.

What the model reads of a drawing's strokes is decided here too, where the strokes still tell
what the ink no longer does: the pen it reads them with, the whole drawing where it ran past the
canvas, a tap that is no digit, and a ring or a line a person drew round or under the digit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw
from scipy.sparse.csgraph import minimum_spanning_tree

from .preprocess import TAP_GAP

# The page's pen: a fourteenth of the canvas side, which looks like a felt pen at any size.
PEN_WIDTH = 1 / 14
SIDE = 140
# render_strokes draws dark ink on white paper; the paper's grey, 0 to 1, for `preprocess.to_mnist_input`.
PAPER = 1.0
# Drawn this many times larger, then averaged down: anti-aliased edges like a browser canvas.
SUPERSAMPLE = 2
# Points along each quadratic curve between two midpoints.
CURVE_STEPS = 4
# The model reads a drawing with a pen at most this share of the drawing's extent, about MNIST's
# own pen: the page's pen is a share of the canvas, so a digit drawn small in it would reach the
# model as a blob with its loops filled in (v4 read 82 % of re-drawn digits drawn 15 % of the
# canvas high, 98 % read with this pen).
READING_PEN_SHARE = 0.15
# ...and at least this share of the canvas: a dot or a tiny mark stays a few pixels wide.
MIN_READING_PEN = 1 / 100
# Strokes whose points span less than this share of the canvas are a tap, a click or a tick, no
# digit: enlarged into the model's frame, a tick of a fiftieth of the canvas was read as a 1 at
# 99.8 %. Digits drawn four hundredths of the canvas high are still read (73 % of test digits right).
SPECK = 0.03
# Taps alone are a digit tapped out in dots only where no gap of SCATTERED of their extent parts them:
# test digits re-drawn as one point in three of theirs left at most a third of it, while of random
# taps, 3 to 12 of them, 7 to 28 in 100 were answered a digit, most often a 1 or a 7.
SCATTERED = 0.4
# A ring drawn round a digit ("circle your answer") joins it into one mark, which read as a 0 at
# 99 %. A stroke is such a ring when its ends meet (within RING_GAP of its extent) and it holds
# at least RING_HOLDS of the other strokes' points, and those are a digit's, not a face's: the
# largest spans at least RING_LARGEST of the ring, none less than RING_SMALLEST (an eye, a nose).
# One straight line inside (`straight`) is a slashed 0's slash: a ring round a plain 1 is the same
# drawing, and the 0 is the likelier.
RING_GAP = 0.25
RING_HOLDS = 0.9
RING_LARGEST = 0.5
RING_SMALLEST = 0.15
# A stroke is straight when none of its points lies further than this share of its length from
# the line between its ends.
STRAIGHT = 0.1
# A line drawn under the digit (to tell a 6 from a 9) is cropped in with it. A stroke is such a
# line when it is straight and flat (no more than UNDERLINE_FLAT as high as it is long), at least
# UNDERLINE_WIDTH as wide as the other strokes, and wholly below them, its ink clear of theirs on
# the page (a pen's width between the strokes' middles) by at least UNDERLINE_GAP of their height,
# a hairline: a 2's or a foot's base stroke touches the digit.
UNDERLINE_FLAT = 0.25
UNDERLINE_WIDTH = 0.6
UNDERLINE_GAP = 0.01
# Whether a ring holds the other strokes is asked of at most this many of their points and its
# vertices, which bounds the cost of a drawing of thousands of points.
RING_SAMPLES = 256

Point = Sequence[float]
Stroke = Sequence[Point]


def smooth(points: Stroke) -> np.ndarray:
    """The polyline the page traces: quadratic curves through the midpoints between samples."""
    xy = np.asarray([(p[0], p[1]) for p in points], dtype=np.float64)
    if len(xy) < 3:
        return xy
    controls = xy[1:-1]
    ends = (xy[1:-1] + xy[2:]) / 2
    starts = np.concatenate([xy[:1], ends[:-1]])
    t = np.linspace(0, 1, CURVE_STEPS + 1)[1:, np.newaxis, np.newaxis]
    # (steps, curves, 2) points on each curve, then ordered curve by curve.
    curves = (1 - t) ** 2 * starts + 2 * (1 - t) * t * controls + t ** 2 * ends
    return np.concatenate([xy[:1], curves.transpose(1, 0, 2).reshape(-1, 2), xy[-1:]])


def extent(strokes: Sequence[Stroke]) -> float:
    """The larger of the strokes' spans across and down, as a share of the canvas side; 0 for none."""
    points = [point for stroke in strokes for point in stroke]
    if not points:
        return 0.0
    xy = np.asarray([(p[0], p[1]) for p in points], dtype=np.float64)
    return float((xy.max(axis=0) - xy.min(axis=0)).max())


def is_speck(strokes: Sequence[Stroke]) -> bool:
    """Whether the strokes are a tap, a click or a tick: some ink, spanning less than SPECK of the canvas."""
    return any(len(stroke) for stroke in strokes) and extent(strokes) < SPECK


def is_scattered(strokes: Sequence[Stroke]) -> bool:
    """Whether the strokes are three taps or more alone (each a speck) that a gap of at least SCATTERED of
    their extent splits in two: the longest link of the shortest tree joining their places."""
    drawn = list(points_of(strokes).values())
    if len(drawn) < 3 or any(np.ptp(points, axis=0).max() >= SPECK for points in drawn):
        return False
    places = np.unique([points.mean(axis=0) for points in drawn], axis=0)
    if len(places) < 3:
        return False
    apart = np.linalg.norm(places[:, np.newaxis] - places[np.newaxis], axis=2)
    return float(minimum_spanning_tree(apart).max()) >= SCATTERED * extent(strokes)


def without_taps(strokes: Sequence[Stroke]) -> Sequence[Stroke]:
    """The strokes less taps made by mistake away from the drawing; the strokes themselves where none is one.

    A tap is a speck (SPECK) whose ink lies at least TAP_GAP of the canvas (the image path's rule's,
    `preprocess.without_stray_taps`) clear of the rest of the drawing and of every other stroke, further
    beside it than above or below, or above or below it further than its size. Kept, it made the drawing
    look larger, so that a small digit was read with the page's thick pen and its loops filled in. A dot
    nearer above or below is the dot of a "!", a "?", an "i" or a "÷", which must stay "not a digit"; a dot
    near another dot is one of a digit tapped out in dots.
    """
    drawn = points_of(strokes)
    indices = list(drawn)
    low = np.array([drawn[index].min(axis=0) for index in indices]).reshape(-1, 2)
    high = np.array([drawn[index].max(axis=0) for index in indices]).reshape(-1, 2)
    speck = (high - low).max(axis=1) < SPECK
    if not speck.any() or speck.all():
        return strokes
    # The clear space between each two strokes' ink, across or down: a stroke's ink reaches half a pen
    # beyond its points.
    apart = np.maximum(low[np.newaxis] - high[:, np.newaxis], low[:, np.newaxis] - high[np.newaxis])
    clear = apart.max(axis=2) - PEN_WIDTH
    np.fill_diagonal(clear, np.inf)
    # A dot near another dot is one of a row: a digit tapped out in dots, one of them dragged into a dash.
    alone = speck & (clear.min(axis=1) >= TAP_GAP)
    left, top = low[~speck].min(axis=0)
    right, bottom = high[~speck].max(axis=0)
    across = np.maximum(left - high[:, 0], low[:, 0] - right)
    down = np.maximum(top - high[:, 1], low[:, 1] - bottom)
    clear_of_drawing = np.maximum(across, down) - PEN_WIDTH
    beside = across > down
    taps = alone & (clear_of_drawing >= TAP_GAP) & (beside | (clear_of_drawing >= max(right - left, bottom - top)))
    if not taps.any():
        return strokes
    dropped = {index for index, tap in zip(indices, taps) if tap}
    return [stroke for index, stroke in enumerate(strokes) if index not in dropped]


def without_ring(strokes: Sequence[Stroke]) -> Sequence[Stroke]:
    """The strokes less a ring drawn round the others; the strokes themselves where none is one."""
    drawn = points_of(strokes)
    if len(drawn) < 2:
        return strokes
    spans = {index: float((xy.max(axis=0) - xy.min(axis=0)).max()) for index, xy in drawn.items()}
    # A ring round the others is wider than any of them: only the widest stroke can be one.
    index = max(spans, key=spans.get)
    ring = smooth(drawn[index])
    others = [other for other in drawn if other != index]
    side = spans[index]
    within = [spans[other] for other in others]
    if (len(ring) >= 3 and np.hypot(*(ring[0] - ring[-1])) <= RING_GAP * side
            and max(within) >= RING_LARGEST * side and min(within) >= RING_SMALLEST * side
            and not (len(others) == 1 and straight(drawn[others[0]]))
            and inside(evenly(np.concatenate([drawn[other] for other in others])), evenly(ring)).mean()
            >= RING_HOLDS):
        return [strokes[other] for other in others]
    return strokes


def without_underline(strokes: Sequence[Stroke]) -> Sequence[Stroke]:
    """The strokes less a line drawn under the others; the strokes themselves where none is one."""
    drawn = points_of(strokes)
    for index, line in drawn.items():
        others = [other for other in drawn if other != index]
        if not others or not straight(line):
            continue
        rest = np.concatenate([drawn[other] for other in others])
        (left, top), (right, bottom) = rest.min(axis=0), rest.max(axis=0)
        width, height = np.ptp(line, axis=0)
        if (height <= UNDERLINE_FLAT * width and width >= UNDERLINE_WIDTH * (right - left)
                and line[:, 1].min() - bottom >= PEN_WIDTH + UNDERLINE_GAP * (bottom - top)):
            return [strokes[other] for other in others]
    return strokes


def points_of(strokes: Sequence[Stroke]) -> dict[int, np.ndarray]:
    """Each stroke that has points, by its index: its (N, 2) points."""
    return {index: np.asarray([(p[0], p[1]) for p in stroke], dtype=np.float64)
            for index, stroke in enumerate(strokes) if len(stroke)}


def evenly(points: np.ndarray, most: int = RING_SAMPLES) -> np.ndarray:
    """At most `most` of the (N, 2) points, evenly spaced along them."""
    return points[::-(-len(points) // most)]


def straight(points: np.ndarray) -> bool:
    """Whether the (N, 2) points of a stroke lie along the line between its ends (STRAIGHT)."""
    chord = points[-1] - points[0]
    length = float(np.hypot(*chord))
    if length == 0:
        return False
    along = points - points[0]
    off_chord = np.abs(chord[0] * along[:, 1] - chord[1] * along[:, 0]) / length
    return float(off_chord.max()) <= STRAIGHT * length


def inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which of the (N, 2) points lie inside the closed polygon: those from which a ray to the right
    crosses its edges an odd number of times."""
    x, y = points[:, :1], points[:, 1:]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    straddles = (y0 > y) != (y1 > y)
    # Where an edge is level it straddles nothing, so its division is never used.
    crossing_x = x0 + (x1 - x0) * (y - y0) / np.where(y1 == y0, 1.0, y1 - y0)
    return np.count_nonzero(straddles & (x < crossing_x), axis=1) % 2 == 1


def reading_pen(strokes: Sequence[Stroke], pen_width: float = PEN_WIDTH) -> float:
    """The pen the model reads strokes with: the one they were drawn with (`pen_width`), or a thinner
    one where the drawing is small."""
    if not any(len(stroke) for stroke in strokes):
        return pen_width
    return min(pen_width, max(READING_PEN_SHARE * extent(strokes), MIN_READING_PEN))


def on_canvas(strokes: Sequence[Stroke], pen_width: float = PEN_WIDTH) -> tuple[Sequence[Stroke], float]:
    """The strokes and pen as they are, or, where the strokes go past the canvas's edge, moved onto it
    (and shrunk, pen and all, where they are larger), so that the drawing is read whole.

    A pointer that leaves the canvas goes on drawing; the canvas shows only its part on it, but the
    digit the person drew is the whole of it.
    """
    points = [point for stroke in strokes for point in stroke]
    if not points:
        return strokes, pen_width
    xy = np.asarray([(p[0], p[1]) for p in points], dtype=np.float64)
    if xy.min() >= 0 and xy.max() <= 1:
        return strokes, pen_width
    low, high = xy.min(axis=0) - pen_width / 2, xy.max(axis=0) + pen_width / 2
    scale = min(1.0, 1 / float((high - low).max()))
    offset = (1 - (high - low) * scale) / 2
    return [((np.asarray(stroke, dtype=np.float64)[:, :2] - low) * scale + offset).tolist()
            for stroke in strokes if len(stroke)], pen_width * scale


def reading(strokes: Sequence[Stroke], drawn: Image.Image | None = None) -> Image.Image | None:
    """The drawing of the strokes as the model reads it: `drawn` (their `render_strokes` with the page's pen,
    where the caller has it) where they lie on the canvas and the page's pen suits their size; else drawn
    again whole (`on_canvas`) with a pen that fits them (`reading_pen`), less taps made by mistake away
    from them, a ring drawn round the digit or a line under it (`without_taps`, `without_ring`,
    `without_underline`). None where the strokes are a tap or a tick (`is_speck`), or taps scattered too far
    apart to be a digit tapped out in dots (`is_scattered`): nothing to read."""
    whole, pen = on_canvas(without_underline(without_ring(without_taps(strokes))))
    if is_speck(whole) or is_scattered(whole):
        return None
    pen = reading_pen(whole, pen)
    # Strokes read as drawn, with the page's pen: the drawing the page showed is that image already.
    if whole is strokes and pen == PEN_WIDTH and drawn is not None:
        return drawn
    return render_strokes(whole, side=SIDE, pen_width=pen)


def render_strokes(strokes: Sequence[Stroke], side: int = SIDE, pen_width: float = PEN_WIDTH) -> Image.Image:
    """A greyscale ("L") image of the strokes: dark ink on white paper, `side` pixels square.

    `pen_width` is the pen's diameter as a fraction of the side.
    """
    big = side * SUPERSAMPLE
    radius = max(pen_width * big / 2, 0.5)
    ink = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(ink)
    for stroke in strokes:
        if len(stroke) == 0:
            continue
        path = smooth(stroke) * big
        points = [tuple(point) for point in path]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(2 * radius)))
        # Discs at the ends and at each sample make the caps and joins round, as the canvas's
        # lineCap and lineJoin do; a stroke of one point is a dot. (Pillow's own curved joints
        # cost ten times as much on long strokes.)
        for x, y in points[::CURVE_STEPS] + points[-1:]:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    ink = ink.reduce(SUPERSAMPLE)
    return Image.eval(ink, lambda value: 255 - value)
