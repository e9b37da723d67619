"""Strokes rendered by mlcore look like the page's canvas and are read by the shipped model."""

import numpy as np
import pytest

from mlcore.predict import Predictor
from mlcore.preprocess import to_mnist_input
from mlcore.render import render_strokes

CIRCLE = np.linspace(0, 2 * np.pi, 60)
STROKES = {
    0: [list(zip(0.5 + 0.22 * np.sin(CIRCLE), 0.5 - 0.32 * np.cos(CIRCLE)))],
    1: [[(0.5, 0.15), (0.5, 0.5), (0.5, 0.85)]],
    7: [[(0.3, 0.2), (0.5, 0.2), (0.7, 0.2)], [(0.7, 0.2), (0.55, 0.5), (0.42, 0.82)]],
}


@pytest.fixture(scope="module")
def predictor(shipped_model_path):
    return Predictor.from_checkpoint(shipped_model_path)


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
