"""Shares as the dashboard shows them."""

from django import template

register = template.Library()


@register.filter
def percent_of(part: int, whole: int) -> str:
    """`part` as a percentage of `whole`: whole where it is one, else to a tenth, and never 0 or 100 where
    it is not (rounded to whole percents, 1 drawing unreviewed of 318 read "0%", 317 of them "100%")."""
    share = 100 * part / whole
    if share == round(share):
        return f"{share:.0f}"
    if share < 0.1:
        return "< 0.1"
    if share > 99.9:
        return "> 99.9"
    return f"{share:.1f}"
