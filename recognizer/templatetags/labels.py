"""Labels as people read them: a digit, or "not a digit" for the label 10."""

from django import template

from mlcore.labels import label_name

register = template.Library()
register.filter("label_name", label_name)
