"""Shares as the dashboard shows them."""

import math

from django import template

register = template.Library()


@register.filter
def percent(share: float) -> str:
    """`share` (0 to 1) in percent: whole where it is whole, else to a tenth (halves rounded up, as
    static/recognizer/review/queue.js rounds them), and never 0 or 100 where it is not (one drawing unreviewed
    of 318 read "0%", a probability of 0.9996 "100.0% sure")."""
    if not math.isfinite(share):
        return str(share)
    # To nine places first: 100 * 0.55 is 55.00000000000001, which read "55.0".
    value = round(100 * share, 9)
    if value == round(value):
        return f"{value:.0f}"
    if value < 0.1:
        return "< 0.1"
    if value > 99.9:
        return "> 99.9"
    return f"{math.floor(10 * value + 0.5) / 10:.1f}"


@register.filter
def percent_of(part: int, whole: int) -> str:
    """`part` as a percentage of `whole`, as `percent` words a share."""
    return percent(part / whole)
