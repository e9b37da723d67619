"""Strokes as the page sends them: checked, then rendered into the drawing that is stored.

A drawing is a list of strokes, each `{"pointer": "mouse"|"pen"|"touch", "points": [[x, y, t, pressure], ...]}`:
x and y are fractions of the canvas side (below 0 or above 1 where the pointer left the canvas), t
milliseconds since the drawing's first point, pressure 0 to 1. Every failure is a StrokesRejected
whose message names the offending place.
"""

from __future__ import annotations

import reprlib

from mlcore.render import SIDE, render_strokes
from mlcore.validation import is_finite_number

from .imaging import DecodedImage

MAX_STROKES = 64
MAX_POINTS = 4000
POINTER_TYPES = ("mouse", "pen", "touch")
# A day: a drawing left open in a tab may be finished later, but a time is never absurd.
MAX_TIME_MS = 24 * 60 * 60 * 1000
# A pointer that leaves the canvas goes on drawing, up to half a side beyond it (the page is told so).
OFF_CANVAS = 0.5
# Each value's name, range and the decimals it is kept to: the page's own precision (a tenth of a pixel on a
# 1,000-pixel canvas, whole milliseconds). A float's every digit (4,000 points of 25-digit numbers) made a
# drawing's stored strokes 400 KB, and the admin's list of fifty of them two seconds to load.
POINT_RANGES = (("x", -OFF_CANVAS, 1 + OFF_CANVAS, 4), ("y", -OFF_CANVAS, 1 + OFF_CANVAS, 4),
                ("t", 0, MAX_TIME_MS, 0), ("pressure", 0, 1, 3))


class StrokesRejected(ValueError):
    """The strokes are not a drawing this site accepts; the message tells the client why."""


def check(strokes) -> list[dict]:
    """The strokes, checked: each one a dict of its pointer type and points; or StrokesRejected."""
    if not isinstance(strokes, list):
        raise StrokesRejected('send a list of strokes, each {"pointer": ..., "points": [[x, y, t, pressure], ...]}')
    if not strokes:
        raise StrokesRejected("the drawing has no strokes")
    if len(strokes) > MAX_STROKES:
        raise StrokesRejected(f"the drawing has {len(strokes)} strokes; the limit is {MAX_STROKES}")
    total = sum(len(stroke["points"]) for stroke in strokes if isinstance(stroke, dict)
                and isinstance(stroke.get("points"), list))
    if total > MAX_POINTS:
        raise StrokesRejected(f"the drawing has {total:,} points; the limit is {MAX_POINTS:,}")
    return [_check_stroke(stroke, f"stroke {index}") for index, stroke in enumerate(strokes)]


def _check_stroke(stroke, where: str) -> dict:
    if not isinstance(stroke, dict) or set(stroke) != {"pointer", "points"}:
        raise StrokesRejected(f'{where}: send {{"pointer": ..., "points": [...]}} and nothing else')
    if stroke["pointer"] not in POINTER_TYPES:
        raise StrokesRejected(f"{where}: pointer {reprlib.repr(stroke['pointer'])} is not one of "
                              f"{', '.join(POINTER_TYPES)}")
    points = stroke["points"]
    if not isinstance(points, list) or not points:
        raise StrokesRejected(f"{where}: points must be a list of at least one [x, y, t, pressure]")
    checked = [_check_point(point, f"{where}, point {index}") for index, point in enumerate(points)]
    for index in range(1, len(checked)):
        if checked[index][2] < checked[index - 1][2]:
            raise StrokesRejected(f"{where}, point {index}: t goes back in time ({checked[index][2]} after "
                                  f"{checked[index - 1][2]})")
    return {"pointer": stroke["pointer"], "points": checked}


def _check_point(point, where: str) -> list[float]:
    if not isinstance(point, list) or len(point) != len(POINT_RANGES):
        raise StrokesRejected(f"{where}: send [x, y, t, pressure]")
    for value, (name, low, high, _) in zip(point, POINT_RANGES):
        if not is_finite_number(value):
            raise StrokesRejected(f"{where}: {name} must be a finite number")
        if not low <= value <= high:
            # Clients that send pixels, or device pixels over CSS ones, meet this first.
            unit = ", a fraction of the canvas side, not pixels" if name in ("x", "y") else ""
            raise StrokesRejected(f"{where}: {name} is {value!r}; it must be {low:,} to {high:,}{unit}")
    return [round(value, decimals) if decimals else round(value) for value, (*_, decimals) in zip(point, POINT_RANGES)]


def render(strokes: list[dict]) -> DecodedImage:
    """The drawing of checked strokes as the page showed it: the PNG that is stored."""
    return DecodedImage(render_strokes(paths(strokes), side=SIDE), "PNG")


def paths(strokes: list[dict]) -> list[list[list[float]]]:
    """Checked strokes as `mlcore.render` draws and reads them: each stroke's points' x and y."""
    return [[point[:2] for point in stroke["points"]] for stroke in strokes]
