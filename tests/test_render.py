"""Strokes rendered by mlcore look like the page's canvas and are read by the shipped model."""

import numpy as np
import pytest

from mlcore.datasets import drawn
from mlcore.preprocess import to_mnist_input
from mlcore.render import (MIN_READING_PEN, PEN_WIDTH, READING_PEN_SHARE, on_canvas, reading, reading_pen,
                           render_strokes, without_ring, without_taps, without_underline)

CIRCLE = np.linspace(0, 2 * np.pi, 60)
STROKES = {
    0: [list(zip(0.5 + 0.22 * np.sin(CIRCLE), 0.5 - 0.32 * np.cos(CIRCLE)))],
    1: [[(0.5, 0.15), (0.5, 0.5), (0.5, 0.85)]],
    7: [[(0.3, 0.2), (0.5, 0.2), (0.7, 0.2)], [(0.7, 0.2), (0.55, 0.5), (0.42, 0.82)]],
}


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_rendered_strokes_are_read_as_drawn(predictor, digit):
    assert predictor.predict(to_mnist_input(render_strokes(STROKES[digit]))).digit == digit


def test_pen_is_round_and_as_wide_as_asked():
    image = np.asarray(render_strokes([[(0.5, 0.5)]], side=140, pen_width=0.2))
    ink_rows = np.flatnonzero((image < 128).any(axis=1))
    ink_cols = np.flatnonzero((image < 128).any(axis=0))
    assert abs(len(ink_rows) - 28) <= 2 and abs(len(ink_cols) - 28) <= 2
    assert image[0, 0] == 255 and image[70, 70] == 0


def test_no_strokes_is_blank_paper():
    assert np.asarray(render_strokes([])).min() == 255


def test_the_reading_pen_is_the_page_s_unless_the_drawing_is_small():
    assert reading_pen(STROKES[0]) == PEN_WIDTH
    small_one = [[(0.5, 0.4), (0.5, 0.6)]]
    assert reading_pen(small_one) == pytest.approx(READING_PEN_SHARE * 0.2)
    assert reading_pen([[(0.5, 0.5)]]) == MIN_READING_PEN


def test_strokes_are_read_as_the_page_drew_them_where_nothing_in_them_asks_otherwise():
    """The page's drawing is what the model reads of a digit drawn large on the canvas; a small one is drawn
    again with a thinner pen, whether or not the caller has the page's drawing, and a tap is nothing to read."""
    drawing = render_strokes(STROKES[7])
    assert reading(STROKES[7], drawing) is drawing
    assert np.array_equal(np.asarray(reading(STROKES[7])), np.asarray(drawing))
    small_one = [[(0.5, 0.4), (0.5, 0.6)]]
    thinner = np.asarray(render_strokes(small_one, pen_width=reading_pen(small_one)))
    assert np.array_equal(np.asarray(reading(small_one, render_strokes(small_one))), thinner)
    assert np.array_equal(np.asarray(reading(small_one)), thinner)
    assert reading([[(0.5, 0.5)]]) is None


def test_digits_drawn_small_are_read_with_a_pen_that_fits_them(mnist_test, predictor):
    """80 test digits re-drawn 15 % of the canvas high with the page's pen, half their height wide:
    read with that pen, their loops fill in."""
    rng = np.random.default_rng(8)
    strokes = [[s.tolist() for s in drawn.place(drawn.digit_strokes(digit), rng, height_range=(0.15, 0.15))]
               for digit in mnist_test.images[:80]]
    labels = mnist_test.labels[:80]
    as_drawn = np.stack([to_mnist_input(render_strokes(s)) for s in strokes])
    as_read = np.stack([to_mnist_input(render_strokes(s, pen_width=reading_pen(s))) for s in strokes])
    drawn_right = (predictor.answers(as_drawn)[0] == labels).mean()
    read_right = (predictor.answers(as_read)[0] == labels).mean()
    assert read_right >= 0.95 and drawn_right <= 0.9, f"read {read_right:.0%}, with the page's pen {drawn_right:.0%}"


def test_strokes_on_the_canvas_stay_as_they_are():
    assert on_canvas(STROKES[7]) == (STROKES[7], PEN_WIDTH)
    assert on_canvas([]) == ([], PEN_WIDTH)


def test_strokes_past_the_edge_are_shrunk_onto_the_canvas_pen_and_all():
    tall_one = [[(0.5, -0.3), (0.5, 1.2)]]
    (stroke,), pen = on_canvas(tall_one, pen_width=0.1)
    # 1.5 long and 0.1 wide: 1.6 of pen-to-pen extent shrunk to the side, centred.
    assert pen == pytest.approx(0.1 / 1.6)
    assert stroke[0] == pytest.approx([0.5, pen / 2]) and stroke[1] == pytest.approx([0.5, 1 - pen / 2])


def test_digits_drawn_past_the_edge_are_read_whole(mnist_test, predictor):
    """80 test digits drawn 1.3 times as tall as the canvas, up to 15 % off its middle: the page shows
    only their part on the canvas. Clamped to the edge, as the page once sent them, a line runs along
    the border (82 % read right on 400 held-out digits)."""
    rng = np.random.default_rng(9)
    off, clamped = [], []
    for digit in mnist_test.images[:80]:
        strokes = drawn.digit_strokes(digit)
        points = np.vstack(strokes)
        low, high = points.min(axis=0), points.max(axis=0)
        scale = 1.3 / (high[1] - low[1])
        corner = np.array([0.5 - (high[0] - low[0]) * scale / 2, -0.15 + rng.uniform(-0.15, 0.15)])
        placed = [np.clip((s - low) * scale + corner, -0.5, 1.5) for s in strokes]
        off.append([s.tolist() for s in placed])
        clamped.append([np.clip(s, 0, 1).tolist() for s in placed])
    labels = mnist_test.labels[:80]

    def read(drawings):
        images = [render_strokes(whole, pen_width=reading_pen(whole, pen))
                  for whole, pen in map(on_canvas, drawings)]
        return (predictor.answers(np.stack([to_mnist_input(image) for image in images]))[0] == labels).mean()

    whole_right, clamped_right = read(off), read(clamped)
    assert whole_right >= 0.95 and clamped_right <= 0.9, f"whole {whole_right:.0%}, clamped {clamped_right:.0%}"


def ring(middle_x: float, middle_y: float, radius_x: float, radius_y: float, start: float = -100) -> list:
    """A ring as a hand draws it round something: one stroke whose ends meet."""
    turn = np.radians(np.linspace(start, start + 360, 40))
    return list(zip(middle_x + radius_x * np.cos(turn), middle_y + radius_y * np.sin(turn)))


def test_a_ring_round_a_digit_is_not_read():
    circled = STROKES[7] + [ring(0.5, 0.5, 0.35, 0.45)]
    assert without_ring(circled) == STROKES[7]


@pytest.mark.parametrize("strokes", [
    [ring(0.5, 0.5, 0.25, 0.35)],                                                  # a 0
    [ring(0.5, 0.5, 0.25, 0.35), [(0.5, 0.5)]],                                    # a 0 with a dot in it
    [ring(0.5, 0.5, 0.25, 0.35), [(0.62, 0.25), (0.38, 0.75)]],                    # a slashed 0, the slash inside
    [ring(0.5, 0.5, 0.35, 0.35), [(0.4, 0.4)], [(0.6, 0.4)], [(0.38, 0.6), (0.5, 0.66), (0.62, 0.6)]],  # a face
    [ring(0.5, 0.35, 0.2, 0.15), [(0.7, 0.35), (0.68, 0.85)]],                     # a 9 in two strokes
    [ring(0.5, 0.5, 0.35, 0.45, start=-60)[:25], [(0.45, 0.3), (0.5, 0.7)]],       # an arc, not a ring
])
def test_a_ring_of_the_drawing_s_own_is_kept(strokes):
    assert without_ring(strokes) is strokes


def test_no_drawing_the_not_a_digit_output_learns_from_loses_a_ring():
    """Faces, a crossed circle, an "@": what they hold is not a digit the ring was drawn round."""
    from mlcore.datasets.negatives import GLYPHS, SHAPES

    for template in [*GLYPHS.values(), *SHAPES.values()]:
        assert without_ring(template) is template


def small(strokes: list, left: float, top: float, size: float = 0.25) -> list:
    return [[(left + size * x, top + size * y) for x, y in stroke] for stroke in strokes]


@pytest.mark.parametrize("tap", [[(0.9, 0.9)], [(0.62, 0.25)], [(0.52, 0.33)], [(0.25, 0.6), (0.26, 0.6)]])
def test_a_tap_away_from_the_drawing_is_not_read(tap):
    """Far off, beside it (also a hair below its bottom: it was kept, as the dot of a "!"), or below it
    further than its size."""
    digit = small(STROKES[7], 0.2, 0.1)
    assert without_taps(digit + [tap]) == digit


@pytest.mark.parametrize("strokes", [
    [[(0.5, 0.1), (0.5, 0.65)], [(0.5, 0.85)]],                                  # a "!"
    [[(0.5, 0.1), (0.45, 0.55)], [(0.6, 0.9)]],                                  # ... slanted, its dot off to one side
    [[(0.5, 0.35), (0.5, 0.85)], [(0.5, 0.15)]],                                 # an "i"
    [[(0.2, 0.5), (0.8, 0.5)], [(0.5, 0.3)], [(0.5, 0.7)]],                      # a "÷"
    STROKES[0] + [[(0.5, 0.5)]],                                                 # a dot in a 0
    [[(0.5, 0.4)], [(0.5, 0.6)]],                                                # a ":", all taps
])
def test_a_dot_of_the_drawing_s_own_is_kept(strokes):
    assert without_taps(strokes) is strokes


def test_no_drawing_the_not_a_digit_output_learns_from_loses_a_dot():
    from mlcore.datasets.negatives import GLYPHS, SHAPES

    for template in [*GLYPHS.values(), *SHAPES.values()]:
        assert without_taps(template) is template


@pytest.mark.parametrize("below", [0.95, STROKES[7][1][-1][1] + PEN_WIDTH + 0.01])
def test_a_line_under_a_digit_is_not_read(below):
    """Also a line drawn close under it, its ink clear of the digit's by a hundredth of the canvas:
    kept, it made a 7 a "Z", answered "not a digit" (the margin was 5 % of the digit's height)."""
    underlined = STROKES[7] + [[(0.25, below), (0.5, below + 0.005), (0.75, below)]]
    assert without_underline(underlined) == STROKES[7]


@pytest.mark.parametrize("strokes", [
    [[(0.3, 0.3), (0.5, 0.2), (0.7, 0.35), (0.3, 0.8)], [(0.3, 0.8), (0.75, 0.8)]],   # a 2 with its base apart
    [[(0.3, 0.3), (0.5, 0.2), (0.7, 0.35), (0.3, 0.78)], [(0.3, 0.82), (0.75, 0.82)]],  # ... a little below, touching
    [[(0.35, 0.3), (0.5, 0.2), (0.5, 0.8)], [(0.35, 0.8), (0.65, 0.8)]],              # a 1 with a foot
    [[(0.35, 0.3), (0.5, 0.2), (0.5, 0.78)], [(0.35, 0.82), (0.65, 0.82)]],           # ... a little below, touching
    [[(0.3, 0.2), (0.7, 0.2), (0.45, 0.8)], [(0.3, 0.5), (0.65, 0.5)]],               # a 7 with a bar
    [[(0.45, 0.2), (0.55, 0.8)], [(0.45, 0.9), (0.5, 0.9)]],                         # a "!" upside down: the dot is short
])
def test_a_digit_s_own_base_or_bar_is_kept(strokes):
    assert without_underline(strokes) is strokes
