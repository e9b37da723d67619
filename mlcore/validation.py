"""Type checks for values from JSON, options and files made by hand, where a bool is no count and no number
(Python counts True as 1)."""

from __future__ import annotations

import math


def is_integer(value) -> bool:
    """An int, not a bool: JSON's true and false arrive as bools."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value) -> bool:
    """An int or a float, not a bool, neither infinite nor NaN; an int too large for a float is none either."""
    if not (is_integer(value) or isinstance(value, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
