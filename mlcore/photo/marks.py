"""Which marks of a photo's flattened ink are the digit: the strongest group clear of the frame's
border with the marks that belong to it, without specks, ruled lines, slivers along the border, punched holes, or a
reader's circle round it or line under it; and the turn of a ruled page (step 4 of `mlcore.photo`)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull

from ..preprocess import BlankDrawingError, box_of, extent_of

# Ink must exceed this floor and the surface's own noise (in median absolute deviations).
MIN_INK = 0.08
NOISE_DEVIATIONS = 8
# A faint pencil, or graphite's sheen under a glancing light, leaves parts of a stroke under MIN_INK:
# the digit was read from its darker fragments (a 7 as an L, a 4 as its stem), confidently. So the
# chosen marks grow through the pixels joined to them above FAINT_INK, FAINT_SHARE of their own ink (its
# 90th percentile: without it, faint ruled lines touching a pen's digit grew into it, and it was read as a
# 1) and the paper's noise at half the usual margin; never into another mark and never past GROWTH times
# their own area. Only what touches the digit grows: grain and shadows elsewhere stay paper.
FAINT_INK = 0.03
FAINT_SHARE = 0.15
GROWTH = 3.0
# Paper has a texture of its own: a crease's shading, a desk's grain, a sheet's or a note's edge, a light's
# gradient. On a photo of no digit its strongest mark is such texture, and was read as a digit (a 1, mostly). A
# digit's ink, even a faint pencil's, stands out from the paper around it: so the chosen marks must be darker
# than FAINT_MARK (their 90th percentile), or PROMINENT times darker than the darkest of the paper around them
# (its 99.9th percentile, from a quarter of their extent to their extent away: farther, a sheet's edge and the
# desk beyond it outweighed a thin pen's digit), or the photo shows no ink. Faint pencil digits on plain and
# shadowed paper measured at least 0.13, and 4.5 times the rest of the page; the texture of blank sheets, notes
# and desks 0.08 to 0.2, and at most 1.7 times.
FAINT_MARK = 0.15
PROMINENT = 2.0
# Marks whose ink mass is below this fraction of the digit's are specks.
SPECK_FRACTION = 0.04
# A printed label, a pen or the paper's edge can outweigh a thin pen's digit: a model reads the
# marks at least RIVAL of the chosen one's weight (its ink over its thickness, as it was chosen: a pen's
# solid body outweighs a thin pen's digit in ink many times, in strokes less) and RIVAL_HEIGHT times
# its height too, and picks (`mlcore.photo.readings`). A label's letters, alone or run together, are
# no taller than the one chosen.
# A mark drawn round or under the chosen one (a ring, a frame, an underline, a sticky note's edge) is no
# rival: a smiley's face, read alone where its mouth was no digit, was a 0. Nor, beside a mark clear of the
# frame's border, is one that touches it: a sliver of the sheet's edge, the desk beyond it or a line of print
# cut by the frame, read where the chosen marks were no digit, was a 1.
RIVAL = 0.25
RIVAL_HEIGHT = 1.5
# Only the largest marks are weighed: a photo of a page has at most a few hundred (334 in the
# 480 synthetic photos), while a texture of tiny dots has tens of thousands, each costing Python.
MAX_MARKS = 2000
# A digit photographed close up may touch the frame's border: such a mark is the digit when it
# outweighs the strongest mark clear of the border this many times (the paper's edge with the
# table beyond outweighs a digit at most about 16 times).
BORDER_OUTWEIGHS = 50.0
# A pen's body or cone, or a fingertip, in the frame is a solid mark that outweighs a ballpoint's
# digit in ink; writing is strokes. So a mark weighs its ink over its thickness (about the length
# of its strokes): its half width at its thickest in multiples of PEN_RADIUS pixels, where it is
# thicker than that (a ballpoint's strokes are 1 to 3 pixels at the working resolution, a pen's
# body 8 to 15). A mark near the digit SOLID times thicker than it (a pen's tip by the digit's last
# stroke) is no part of it.
PEN_RADIUS = 3
SOLID = 2.5
# Marks within this many digit sizes of the digit's nearest pixel belong to it, unless they are
# long thin lines longer than the digit (a sticky note's or a sheet's edge, its thin shadow),
# whose box may hold the digit's.
NEARBY = 0.35
# A number of two digits or more is no digit; written apart, its next digit was further from the one chosen than
# NEARBY, and the one was read alone (of the three audits' 85 numbers and sums, 15 were read as one of their
# digits). A mark, no speck beside the chosen one (RIVAL), stands beside it as the next character of a number where
# it is at least ROW_HEIGHT of its height and at most 1 / ROW_HEIGHT, the two share ROW_OVERLAP of the shorter's
# rows, the gap between them is at most ROW_GAP of the chosen mark's extent, and their strokes are as wide (on the
# whole and at their widest) and as dark within WRITTEN_ALIKE times (a printed label, a desk's grain are not, nor a
# pen's solid grip beside a thin pen's digit, as wide on the whole but twice as wide at its widest): it is read
# with it.
ROW_HEIGHT = 0.7
ROW_OVERLAP = 0.6
ROW_GAP = 1.0
WRITTEN_ALIKE = 1.5
# A line of print above or below the digit (a worksheet's header, a form's label) is near it too, and was read
# as a part of it: a digit's own detached parts (a 5's or a 7's bar) reach into the rows of the rest of it,
# where words lie wholly above or below them. At least TEXT_WORDS marks wholly on one side are a line of
# text, none of the digit's.
TEXT_WORDS = 3
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
# Photographed at the working resolution, ruled lines are a pixel wide and fainter than the ink's
# threshold, which breaks them into specks: the turn is read from ink above TURN_INK beside the
# digit, in LINE_DIRECTIONS directions, where its straightest band holds at least TURN_LINE of the
# frame's short side of it and is at most TURN_LINE_WIDTH pixels wide at half its peak (a shadow's
# soft edge is wider), and turns the page at most MAX_TURN degrees: a page turned 45 degrees could be
# turned either way, and the pixels' grid piles scattered specks on the diagonals. At most
# TURN_POINTS of its pixels, picked at random, choose the direction: a ruled page has ten thousand,
# each costing as many offsets as directions. The band is then measured on all of them, since on a
# few the count in one offset is too uneven to part a line from the noise of a patch of grain, and
# points picked at even steps along the rows lie on lines of their own. Chosen on photos of
# training digits (ruled pages turned, and the eight variants) and of non-digits.
TURN_INK = MIN_INK / 2
TURN_LINE = 0.2
TURN_LINE_WIDTH = 3
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
# The edge of a sheet or a note lying on a darker desk is a step of the surface's tone, and the flattened
# photo keeps a thin line of ink along it: clear of the frame's border and shorter than the frame, it passed
# for a 1, and outweighed a small digit written on the sheet (an audit's photos of small digits on a sheet on
# a desk were read as 1s). A pen's stroke has paper on both sides: a long thin mark is an edge where, within
# EDGE_REACH of its pen's widths of it (ink aside), at least EDGE_SIDE of the surface is darker than EDGE_STEP
# of the paper there (its 90th percentile): the desk beyond it, and at least ON_STEP of the mark lies along the
# step, with darker surface and paper both within that reach. A thin pen's digit half in a hard shadow has the
# shadow beside it too, but runs into the shadow and on in the light, away from its edge: it was dropped as an
# edge, and only the half away from the shadow was read (an audit's shadows across the digit: 13 of 20 read
# right, 17 since). Such digits measured 0.1 to 0.55 along the step, sheets' edges 0.6 to 1. A desk's grain
# darker all round a mark passed as an edge before, and three photos of no digit on a desk are read as 1s since.
EDGE_REACH = 3
EDGE_STEP = 0.75
EDGE_SIDE = 0.3
ON_STEP = 0.6
# A pen or pencil lying on the paper beside the digit is a straight bar, and its ink outweighed the digit's: read with
# it, or instead of it. A mark is such a bar where its length (the second moment's along its axis) is PEN_ELONGATION
# times its width (the one across) or more, and the middle of its pixels across the axis, in each of PEN_PIECES pieces
# along it, lies within PEN_STRAIGHT of half its width (or, where less, of half its strokes' width: a thin pen's wavy
# 1 spreads wider than its stroke) in PEN_STRAIGHT_SHARE of the pieces. So a pen's bright body, lit from above, may
# leave only its outline as ink, and one edge alone in a piece or two. It lies beside the digit where another mark, no
# speck, at least PEN_GAP of that mark's strokes' widths from it, its strokes at most 1 / PEN_THICKER of its width (a
# pen's body is wider than the line it draws; a % sign's slash is as wide as its rings, and read apart, a ring was a
# 0), is PEN_PARTNER to 1 / PEN_LONGER of its extent: longer than a digit it could be part of (a 1 beside a 7 is as
# tall), shorter than one that could be part of it (a 1's stem beside its detached flag or base touches them, or
# nearly). Only one such bar is a pen: several are a text's strokes, a receipt's rules or a fabric's weave. The marks
# chosen with the pen left out, and with it the marks lying within its rectangle as below (its cap, grip, cone or
# eraser, each a mark of its own tone), are read too, and the model weighs the readings; but a bar PEN_WIDER times as
# wide as the heaviest such mark's strokes or more, with no other mark nearer than its own width (a digit's straight
# stroke broken from its loop nearly touches it), is no writing at all, and is left out with the marks lying within
# its rectangle, a width wider all round, for WITHIN of their pixels (the pieces of its dark parts): read as a 1, a
# pen outweighed the digit in the model's eyes too. Chosen on a fifth audit's photos of a pen beside a digit and
# across the page (15 -> 30 of 40 read right, none lost over its 520 photos) and checked on a sixth's (pen near the
# digit 11 -> 13 of 20; 2 digits more over its 440 photos and none lost): PEN_PARTNER was 1 / 3, which left out a
# digit a fifth to a third of the pen's length, and bars were measured straight by their area, which an outlined pen
# is not. A seventh audit's pens and pencils lay nearer (28 -> 36 of 40 read right, and a pencil alone more answered
# "not a digit", none lost over its 240 photos, nor over the fifth's and sixth's): PEN_GAP was 2, so a pen within two
# of the digit's strokes of it was none, a pen read apart was read without its body only, its cap or cone then the
# marks chosen, and a bar no wider than the digit's strokes (a written 1, a % sign's slash) was a second pen,
# and two bars are none.
PEN_ELONGATION = 4
PEN_PIECES = 8
PEN_STRAIGHT = 0.5
PEN_STRAIGHT_SHARE = 0.75
PEN_LONGER = 1.6
PEN_PARTNER = 1 / 5
PEN_GAP = 1
PEN_THICKER = 1.5
PEN_WIDER = 2.5
WITHIN = 0.8
# Only the heaviest marks are looked at so: a photo may hold thousands of specks.
PEN_CANDIDATES = 6
# A sheet's edge cut by the frame, with a sliver of the desk beyond it, lies along the frame's border: where the
# photo showed no ink clear of the border, it was the mark chosen, and read as a 1 (12 of two audits' 620 photos of
# no digit). A mark is such a sliver where its pixels on one side of the border span ALONG_BORDER of its extent
# that way or more, and it reaches at most SLIVER of that extent into the frame. A digit cut by the frame meets the
# border with its strokes' ends, or a bar cut along its length, and reaches further in: of the audits' 370 photos
# of a digit, none of the marks chosen met the border over more than 0.6 of their extent.
ALONG_BORDER = 0.8
SLIVER = 0.5
# A sticky note or a card lying on a dark desk is a bright patch, and read as light ink (chalk) with a pen as wide
# as the background's window, it was one solid mark as strong as ink gets: its reading outweighed the note's own
# dark digit, and was read as no digit, or as a 1. A note, a card, a phone is a rectangle: a mark filling at least
# RECTANGLE_FILL of the smallest rectangle round it (turned every RECTANGLE_STEP degrees), at most
# RECTANGLE_ELONGATION times longer than it is wide (its second moments'), is such a thing, not writing. A disc
# fills a quarter pi of it (0.79), a thick pen's 0 whose loop has closed or a 6 written in a blot less; a thick
# 1 is a rectangle, but long. Marks under RECTANGLE_AREA pixels are too few to tell.
RECTANGLE_FILL = 0.85
RECTANGLE_ELONGATION = 1.6
RECTANGLE_STEP = 1
RECTANGLE_AREA = 100
# A long thin mark clear of the frame's border is a 1 photographed close up unless it is
# longer than this fraction of the frame.
CLEAR_LINE_EXTENT = 0.8
# The digit's marks must be this much stronger than such lines: ruled lines are fainter than
# the pen, and a pen stroke crossing one must not be joined to it.
ABOVE_LINES = 1.3
# ... unless that would drop marks this strong relative to the strongest: a paper's edge is no
# ruled line and may be darker than the pen.
STRONGEST_SHARE = 0.6


def digit_masks(ink: np.ndarray, most: int = 1, ruled: float = 0.0, surface: np.ndarray | None = None,
                pens_apart: bool = False) -> tuple[list[np.ndarray], int, float]:
    """The pixels of the digit's marks: the main mark and what belongs to it; and, up to `most` in
    all, those of the next marks that could be the digit instead (RIVAL), likeliest first. How many of
    them are the digit's: where a pen may lie beside it (`pens_beside`) and `most` is more than one, the
    marks chosen with the pen left out (`pens_apart`) come second, as the digit too: a 1 is a straight bar
    beside marks of its own too, and the model tells which reading is a digit. And the ink the marks had
    to be above to be clear of ruled lines (0 where none were found fainter than the pen); `ruled` is such
    ink measured before, which the marks must be above too. Where the `surface` the ink was found on is given
    (paper light, ink dark), a sheet's edge on it is no mark."""
    sample = ink[::4, ::4]
    noise = float(np.median(np.abs(sample - np.median(sample))))
    threshold = max(NOISE_DEVIATIONS * noise, MIN_INK, ruled)
    faint = max(NOISE_DEVIATIONS / 2 * noise, FAINT_INK, ruled)
    marks, count, lines = labelled(ink, threshold)
    # A digit written across ruled lines joins them into one long mark: its thick parts are the
    # pen's, and only the thin parts tell how dark the ruled lines are. A ballpoint's strokes are as
    # thin as the lines, so each line tells its own ink, and the line in the middle of them is taken:
    # most lines hold no digit.
    on_lines = lines[marks]
    thin_lines = on_lines & ~ndimage.binary_opening(on_lines, structure=np.ones((THIN_LINE, THIN_LINE)))
    others = (marks > 0) & ~thin_lines
    if thin_lines.any() and others.any():
        # Only lines fainter than the other marks are ruled lines; a paper's edge can be darker.
        each_line = [np.percentile(ink[thin_lines & (marks == label)], 90)
                     for label in np.unique(marks[thin_lines])]
        line_ink = ABOVE_LINES * float(np.median(each_line))
        if line_ink < STRONGEST_SHARE * float(np.percentile(ink[others], 95)):
            ruled = max(ruled, line_ink)
            threshold, faint = max(threshold, line_ink), max(faint, line_ink)
            marks, count, lines = labelled(ink, threshold)
    if count == 0:
        raise BlankDrawingError("the photo is blank: no ink found")
    if surface is not None:
        lines |= edges_of_sheets(surface, marks, ink > faint)
    lines |= along_the_border(marks, count)
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
    pens, objects = pens_beside(marks, lines, mass, boxes)
    lines |= within(marks, count, objects)
    pens[lines] = 0
    if pens_apart:
        lines |= within(marks, count, pens)
    holes = punched_holes(area, boxes)
    bulk = np.maximum(thickness(marks, count) / PEN_RADIUS, 1)
    weights = mass / bulk

    candidates = []
    for label, (rows, cols), weight in zip(index, boxes, weights):
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
    # In ink, as BORDER_OUTWEIGHS was measured: a close-up's strokes are thick.
    heaviest = max(choosable, key=lambda candidate: mass[candidate[2] - 1])
    main_clear, _, main = heaviest if mass[heaviest[2] - 1] > BORDER_OUTWEIGHS * mass[clearest[2] - 1] else clearest
    # The corner of a sticky note's or a sheet's edge, with its shadow, a circle drawn round the
    # digit, a screen's bezel or a line under it may outweigh a thin pen's digit: the mark they
    # mark is the digit. Weighed as strokes: a bezel is solid.
    marked = [candidate for candidate in choosable if candidate[2] != main
              and weights[candidate[2] - 1] >= SPECK_FRACTION * weights[main - 1]
              and marks_up(marks, area, boxes, bulk, main, candidate[2])]
    if marked:
        main_clear, _, main = max(marked, key=lambda candidate: candidate[1])
    masks, taken = [], set()
    # The chosen mark first, then the others by the order it was chosen by; only its weight goes unused.
    for clear, _, label in [(main_clear, 0.0, main)] + sorted(choosable, reverse=True):
        if len(masks) == most:
            break
        if label in taken or weights[label - 1] < RIVAL * weights[main - 1] \
                or (masks and (height_of(boxes[label - 1]) < RIVAL_HEIGHT * height_of(boxes[main - 1])
                               or (main_clear and not clear)
                               or marks_up(marks, area, boxes, bulk, label, main))):
            continue
        mask, keep = group(ink, marks.copy(), holes.copy(), (mass, boxes, area, bulk),
                           [candidate for candidate in candidates if candidate[2] not in taken], label, clear)
        masks.append(with_faint_strokes(ink, mask, faint, marks > 0))
        taken.update(keep)
    if most > 1 and pens.any() and not pens_apart:
        apart = digit_masks(ink, 1, ruled, surface, pens_apart=True)[0][0]
        if not np.array_equal(apart, masks[0]):
            return [masks[0], apart, *masks[1:]], 2, ruled
    return masks, 1, ruled


def pens_beside(marks: np.ndarray, lines: np.ndarray, mass: np.ndarray,
                boxes: list) -> tuple[np.ndarray, np.ndarray]:
    """The widths (`bar_width`, by label; 0 is the surface) of the marks that are a pen lying beside the digit
    (PEN_STRAIGHT), and of those of them that are no writing at all (PEN_WIDER); 0 for any other mark."""
    pens = np.zeros(len(boxes) + 1)
    objects = np.zeros(len(boxes) + 1)
    heavy = [label for label in np.argsort(mass)[::-1][:PEN_CANDIDATES] + 1
             if not lines[label] and mass[label - 1] >= SPECK_FRACTION * mass.max()]
    if len(heavy) < 2:
        return pens, objects
    extents = {label: extent_of(boxes[label - 1]) for label in heavy}
    for label in heavy:
        width = bar_width(marks[boxes[label - 1]] == label)
        if width is None:
            continue
        partners = []
        for partner in heavy:
            if partner == label or not PEN_PARTNER * extents[label] <= extents[partner] <= extents[label] / PEN_LONGER:
                continue
            stroke = measured_stroke_width(marks[boxes[partner - 1]] == partner)
            if gap_between(marks, boxes, label, partner) >= PEN_GAP * stroke and width >= PEN_THICKER * stroke:
                partners.append((mass[partner - 1], stroke))
        if partners:
            pens[label] = width
            # Against the heaviest of them, the digit, not a speck or a scrap of a ruled line.
            _, stroke = max(partners)
            if width >= PEN_WIDER * stroke:
                objects[label] = width
    if np.count_nonzero(pens) != 1:
        return np.zeros_like(pens), np.zeros_like(objects)
    inside = within(marks, len(boxes), objects)
    for label in np.nonzero(objects)[0]:
        if any(gap_between(marks, boxes, label, other) < objects[label] for other in heavy if not inside[other]):
            objects[label] = 0
    return pens, objects


def within(marks: np.ndarray, count: int, objects: np.ndarray) -> np.ndarray:
    """Which marks (by label) are the `objects` (bars, their widths by label, 0 for no object) or lie within one's
    rectangle, a width wider all round: a pen's bright body splits it into its outline and pieces of its dark parts."""
    inside = np.zeros(count + 1, dtype=bool)
    if not objects.any():
        return inside
    points = np.argwhere(marks > 0)
    for label in np.nonzero(objects)[0]:
        bar = points[marks[tuple(points.T)] == label].astype(np.float64)
        middle = bar.mean(axis=0)
        axes = np.linalg.eigh(np.cov(bar.T))[1]
        reach = np.abs((bar - middle) @ axes).max(axis=0) + objects[label]
        near = np.all(np.abs((points - middle) @ axes) <= reach, axis=1)
        share = np.bincount(marks[tuple(points[near].T)], minlength=count + 1) / np.maximum(
            np.bincount(marks.ravel(), minlength=count + 1), 1)
        inside |= share >= WITHIN
    inside[0] = False
    return inside


def bar_width(mask: np.ndarray) -> float | None:
    """The width of the mark, across its axis at the median of its pieces, where it is a straight bar, solid or
    outlined (a pen's bright body), PEN_ELONGATION times longer than wide or more; None where it is not."""
    points = np.argwhere(mask).astype(np.float64)
    if len(points) < 3:
        return None
    # A bar's second moments along and across it are its length and its width squared over 12.
    spreads, axes = np.linalg.eigh(np.cov(points.T))
    across, along = np.sqrt(12 * spreads)
    if along < PEN_ELONGATION * across:
        return None
    offsets = points - points.mean(axis=0)
    position, side = offsets @ axes[:, 1], offsets @ axes[:, 0]
    pieces = np.clip(((position / along + 0.5) * PEN_PIECES).astype(int), 0, PEN_PIECES - 1)
    counts = np.bincount(pieces, minlength=PEN_PIECES)
    if not counts.all():
        return None
    middles = np.bincount(pieces, weights=side, minlength=PEN_PIECES) / counts
    straight = PEN_STRAIGHT * min(across, measured_stroke_width(mask)) / 2
    if np.mean(np.abs(middles) <= straight) < PEN_STRAIGHT_SHARE:
        return None
    # Piece by piece, as a pen's outline spans it; a digit's straight stroke spans a loop's width in one piece only.
    widest, narrowest = np.full(PEN_PIECES, -np.inf), np.full(PEN_PIECES, np.inf)
    np.maximum.at(widest, pieces, side)
    np.minimum.at(narrowest, pieces, side)
    return float(np.median(widest - narrowest)) + 1


def gap_between(marks: np.ndarray, boxes: list, label: int, other: int) -> float:
    """The least distance in pixels from the mark `label` to the mark `other`."""
    box = tuple(slice(min(a.start, b.start), max(a.stop, b.stop))
                for a, b in zip(boxes[label - 1], boxes[other - 1]))
    distance = ndimage.distance_transform_edt(marks[box] != label)
    return float(distance[marks[box] == other].min())


def edges_of_sheets(surface: np.ndarray, marks: np.ndarray, inked: np.ndarray) -> np.ndarray:
    """Which marks (by label; 0 is the surface) are long thin lines along a step of the surface's tone: the
    edge of a sheet or a note, the desk beyond it darker (EDGE_STEP)."""
    boxes = ndimage.find_objects(marks)
    area = np.bincount(marks.ravel(), minlength=len(boxes) + 1)
    edges = np.zeros(len(boxes) + 1, dtype=bool)
    for label, box in enumerate(boxes, start=1):
        if box is None or not long_and_thin(box, area[label]):
            continue
        reach = max(1, round(EDGE_REACH * measured_stroke_width(marks[box] == label)))
        around = tuple(slice(max(0, part.start - reach), part.stop + reach) for part in box)
        mark = marks[around] == label
        beside = ndimage.binary_dilation(mark, iterations=reach) & ~inked[around]
        tones = surface[around][beside]
        if tones.size == 0:
            continue
        darker = surface[around] < EDGE_STEP * np.percentile(tones, 90)
        if np.mean(darker[beside]) < EDGE_SIDE:
            continue
        step = (ndimage.binary_dilation(beside & darker, iterations=reach)
                & ndimage.binary_dilation(beside & ~darker, iterations=reach))
        edges[label] = np.count_nonzero(step & mark) >= ON_STEP * np.count_nonzero(mark)
    return edges


def along_the_border(marks: np.ndarray, count: int) -> np.ndarray:
    """Which marks (by label; 0 is the surface) are slivers along the frame's border (ALONG_BORDER)."""
    along = np.zeros(count + 1, dtype=bool)
    boxes = ndimage.find_objects(marks)
    for side, axis in ((marks[0], 1), (marks[-1], 1), (marks[:, 0], 0), (marks[:, -1], 0)):
        touching = np.bincount(side, minlength=count + 1)
        for label in np.flatnonzero(touching[1:]) + 1:
            box = boxes[label - 1]
            length, depth = (part.stop - part.start for part in (box[axis], box[1 - axis]))
            along[label] |= touching[label] >= ALONG_BORDER * length and depth <= SLIVER * length
    return along


def stands_out(ink: np.ndarray, mask: np.ndarray) -> bool:
    """Whether the marks `mask` are ink rather than the paper's texture: dark, or much darker than the paper
    around them (FAINT_MARK)."""
    strength = float(np.percentile(ink[mask], 90))
    if strength >= FAINT_MARK:
        return True
    extent = extent_of(box_of(mask))
    distance = ndimage.distance_transform_cdt(~mask, metric="chessboard")
    around = (distance > max(3, extent // 4)) & (distance <= extent)
    return not around.any() or strength >= PROMINENT * float(np.percentile(ink[around], 99.9))


def with_faint_strokes(ink: np.ndarray, mask: np.ndarray, floor: float, marked: np.ndarray) -> np.ndarray:
    """The mask and the pixels of faint ink joined to it through others, where no mark is, unless they come to
    more than GROWTH times its area (FAINT_INK); `floor`, the least ink that is faint ink."""
    faint = (ink > max(floor, FAINT_SHARE * float(np.percentile(ink[mask], 90)))) & ~marked
    grown, _ = ndimage.label(faint | mask, structure=np.ones((3, 3)))
    joined = np.isin(grown, np.unique(grown[mask])) & (faint | mask)
    added = np.count_nonzero(joined) - np.count_nonzero(mask)
    return joined if added <= GROWTH * np.count_nonzero(mask) else mask


def thickness(marks: np.ndarray, count: int) -> np.ndarray:
    """Each mark's (by label, from 1) half width at its thickest, in pixels."""
    inside = marks > 0
    depth = ndimage.distance_transform_edt(inside)
    deepest = np.zeros(count + 1)
    # Not ndimage.maximum: it takes tens of milliseconds over a photo's thousands of specks.
    np.maximum.at(deepest, marks[inside], depth[inside])
    return deepest[1:]


def height_of(box: tuple[slice, slice]) -> int:
    return box[0].stop - box[0].start


def group(ink: np.ndarray, marks: np.ndarray, holes: np.ndarray, measures: tuple, candidates: list,
          main: int, main_clear: bool) -> tuple[np.ndarray, list[int]]:
    """The pixels of the main mark and of the marks that belong to it, and their labels; `marks` and
    `holes` are changed (a line under the digit that touches it is cut off)."""
    mass, boxes, area, bulk = measures
    arms = underline_arms(marks[boxes[main - 1]] == main)
    if arms.any():
        marks[boxes[main - 1]][arms] = 0
        mass = ndimage.sum_labels(ink, marks, np.arange(1, len(mass) + 1))
        boxes = ndimage.find_objects(marks)
        area = np.bincount(marks.ravel(), minlength=len(mass) + 1)
    digit_extent = extent_of(boxes[main - 1])
    gaps = gaps_to(marks, main, boxes[main - 1], NEARBY * digit_extent)
    if holes.any() and twins_drawn(holes, boxes, boxes[main - 1], NEARBY * digit_extent):
        holes[:] = False
    keep = [main]
    for clear, _, label in candidates:
        if label == main or holes[label] or (main_clear and not clear) \
                or mass[label - 1] < SPECK_FRACTION * mass[main - 1] \
                or bulk[label - 1] > SOLID * bulk[main - 1]:
            continue
        if extent_of(boxes[label - 1]) > digit_extent and long_and_thin(boxes[label - 1], area[label]):
            continue
        if gaps.get(label, np.inf) <= NEARBY * digit_extent and not marks_up(marks, area, boxes, bulk, label, main):
            keep.append(label)
        elif (mass[label - 1] >= RIVAL * mass[main - 1] and beside_in_its_row(boxes[main - 1], boxes[label - 1])
              and written_alike(ink, marks, boxes, main, label)):
            # Read with it, a number of two digits or more is no digit, as the model answers it.
            keep.append(label)
    words = [label for _, _, label in candidates
             if label != main and mass[label - 1] >= SPECK_FRACTION * mass[main - 1]]
    keep = [label for label in keep if label not in text_lines(boxes, main, keep, words)]
    return np.isin(marks, keep), keep


def beside_in_its_row(digit: tuple[slice, slice], other: tuple[slice, slice]) -> bool:
    """Whether the other mark stands beside the digit as the next character of a number would (ROW_HEIGHT)."""
    (rows, cols), (other_rows, other_cols) = digit, other
    height, other_height = rows.stop - rows.start, other_rows.stop - other_rows.start
    overlap = min(rows.stop, other_rows.stop) - max(rows.start, other_rows.start)
    gap = max(other_cols.start - cols.stop, cols.start - other_cols.stop)
    return (ROW_HEIGHT * height <= other_height <= height / ROW_HEIGHT
            and overlap >= ROW_OVERLAP * min(height, other_height) and gap <= ROW_GAP * extent_of(digit))


def written_alike(ink: np.ndarray, marks: np.ndarray, boxes: list, main: int, other: int) -> bool:
    """Whether the two marks' strokes are as wide, at their widest too, and as dark as each other, within
    WRITTEN_ALIKE times."""
    def pen_of(label: int) -> tuple[float, float, float]:
        shape = marks[boxes[label - 1]] == label
        return (measured_stroke_width(shape), float(ndimage.distance_transform_edt(np.pad(shape, 1)).max()),
                float(np.percentile(ink[boxes[label - 1]][shape], 90)))

    return all(1 / WRITTEN_ALIKE <= measure / other_measure <= WRITTEN_ALIKE
               for measure, other_measure in zip(pen_of(main), pen_of(other)))


def text_lines(boxes: list[tuple[slice, slice]], main: int, near: list[int], words: list[int]) -> set[int]:
    """Of the marks `near` the main one, those that lie wholly above or wholly below it in a row of TEXT_WORDS
    or more of the marks `words` (near it or not): a line of text; none where the main mark is in such a row."""
    rows = boxes[main - 1][0]

    def side(label: int) -> int:
        top, bottom = boxes[label - 1][0].start, boxes[label - 1][0].stop
        return -1 if bottom <= rows.start else 1 if top >= rows.stop else 0

    def in_a_row(label: int, other: int) -> bool:
        (top, bottom), (other_top, other_bottom) = ((boxes[mark - 1][0].start, boxes[mark - 1][0].stop)
                                                     for mark in (label, other))
        return 2 * (min(bottom, other_bottom) - max(top, other_top)) >= min(bottom - top, other_bottom - other_top)

    def row(label: int) -> int:
        return sum(side(word) == side(label) and in_a_row(label, word) for word in words if word != label)

    # A mark in a row of words is one of them (a map's or a chat's text), and reads as what it is with its row.
    if row(main) >= TEXT_WORDS - 1:
        return set()
    return {label for label in near if label != main and side(label) and row(label) >= TEXT_WORDS - 1}


def page_turn(ink: np.ndarray, digit: np.ndarray) -> float:
    """How many degrees counter-clockwise the page lies turned, as the straightest band of its faint
    ink beside the `digit` (a mask) shows, where that band is a thin line at least TURN_LINE of the
    frame's short side long; 0 where none is. Ruled lines lie level on the page, its margin and
    edges upright: the turn is known up to a quarter turn."""
    points = np.argwhere((ink > TURN_INK) & ~ndimage.binary_dilation(digit, iterations=3))
    if len(points) < TURN_LINE * min(ink.shape):
        return 0.0
    angles = np.arange(LINE_DIRECTIONS) * np.pi / LINE_DIRECTIONS
    normals = np.stack([np.cos(angles), np.sin(angles)])
    picked = points if len(points) <= TURN_POINTS else points[
        np.random.default_rng(0).choice(len(points), TURN_POINTS, replace=False)]
    normal = busiest_band(picked, normals, 0.5)[0]
    _, offsets, first, last = busiest_band(points, normals[:, [normal]], 0.5)
    turn = (normal * 180 / LINE_DIRECTIONS + 45) % 90 - 45
    if (np.bincount(offsets - offsets.min()).max() < TURN_LINE * min(ink.shape)
            or last - first + 1 > TURN_LINE_WIDTH or abs(turn) > MAX_TURN):
        return 0.0
    return float(turn)


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


def marks_up(marks: np.ndarray, area: np.ndarray, boxes: list[tuple[slice, slice]], bulk: np.ndarray,
             mark: int, other: int) -> bool:
    """Whether the mark is drawn round or under the other rather than a part of the same digit:
    a long thin line holding it in its box (a sticky note's or a sheet's edge), a ring or a frame
    round it, or a line under it."""
    box, other_box = boxes[mark - 1], boxes[other - 1]
    return ((long_and_thin(box, area[mark]) and holds(box, other_box))
            or encircles(marks, mark, boxes, other, 2 * PEN_RADIUS * bulk[mark - 1])
            or underlines(box, other_box))


def underlines(bar: tuple[slice, slice], digit: tuple[slice, slice]) -> bool:
    """Whether the mark is a line drawn under the digit: a flat mark just below the digit's box, at
    least as wide as the digit (a 5's or a 7's bar is above it or across it, and narrower)."""
    (bar_rows, bar_cols), (digit_rows, digit_cols) = bar, digit
    width = bar_cols.stop - bar_cols.start
    return (0 <= bar_rows.start - digit_rows.stop <= NEARBY * extent_of(digit)
            and width >= digit_cols.stop - digit_cols.start and FLAT * (bar_rows.stop - bar_rows.start) <= width)


def encircles(marks: np.ndarray, outer: int, boxes: list[tuple[slice, slice]], inner: int,
              ring_width: float) -> bool:
    """Whether the outer mark is a ring round the inner one: it holds the inner mark in its box,
    the inner mark is not small beside it (a speck in a 0, or in a 6's, 8's or 9's loop, is), and
    seen from the inner mark's middle the ring lies in nearly every direction.

    A frame (a screen's dark bezel, a box drawn round the digit) may be many times the digit's size:
    it is a ring round the inner mark too where that mark is wider than its band, `ring_width` (a
    speck in a loop is narrower than the loop's stroke, even a thick pen's), and clear of it (what
    `ring_apart` cut from a mark's inside touches the band it was cut from)."""
    outer_box, inner_box = boxes[outer - 1], boxes[inner - 1]
    if not holds(outer_box, inner_box):
        return False
    if extent_of(inner_box) < ENCIRCLED * extent_of(outer_box):
        within = marks[outer_box]
        if (extent_of(inner_box) < ring_width
                or (ndimage.binary_dilation(within == inner) & (within == outer)).any()):
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


def measured_stroke_width(mask: np.ndarray) -> float:
    """The pen's width in pixels: the marks' area over half their outline."""
    outline = np.count_nonzero(mask & ~ndimage.binary_erosion(mask))
    return 2 * np.count_nonzero(mask) / max(outline, 1)


def rectangle(mask: np.ndarray, elongation: float = RECTANGLE_ELONGATION) -> bool:
    """Whether the marks are one rectangle, at most `elongation` times longer than wide: no writing (RECTANGLE_FILL)."""
    points = np.argwhere(mask).astype(np.float64)
    if len(points) < RECTANGLE_AREA:
        return False
    across, along = np.sqrt(np.linalg.eigvalsh(np.cov(points.T)))
    if along > elongation * across:
        return False
    edge = np.argwhere(mask & ~ndimage.binary_erosion(mask)).astype(np.float64)
    # The smallest rectangle round the marks is the one round their hull's corners, a few dozen of them.
    corners = edge[ConvexHull(edge, qhull_options="QJ").vertices]
    angles = np.radians(np.arange(0, 90, RECTANGLE_STEP))
    sides = [np.ptp(corners @ np.stack([np.cos(angles), np.sin(angles)]), axis=0),
             np.ptp(corners @ np.stack([-np.sin(angles), np.cos(angles)]), axis=0)]
    # Each side holds a pixel more than the distance between its outermost pixels' middles.
    return len(points) >= RECTANGLE_FILL * float(np.min((sides[0] + 1) * (sides[1] + 1)))
