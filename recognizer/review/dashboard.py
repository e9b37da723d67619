"""The review dashboard's figures, each computed by the database as one aggregation."""

from __future__ import annotations

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from mlcore.labels import LABELS, label_name

from ..models import Prediction, PredictionQuerySet, SecondOpinion
from ..templatetags.figures import percent

# The stylesheet (static/recognizer/review/review.css) has this many line colours, .series-0 onwards.
SERIES_STYLES = 8
# The accuracy per day covers this many days back: over all of them, the page grew by a row and a dot a day
# and version, and its query with every reviewed drawing ever made.
DAYS_SHOWN = 90


def accuracy_by_day(predictions: PredictionQuerySet, since) -> list[dict]:
    """Per model version and per day the drawing was made, from `since`: how many were reviewed, how many right."""
    rows = (predictions.reviewed().filter(created_at__gte=since)
            .annotate(day=TruncDate("created_at"))
            .values("model_version__name", "day")
            .annotate(reviewed=Count("pk"), correct=Count("pk", filter=Q(true_label=F("answered_label"))))
            .order_by("day", "model_version__name"))
    return [{"version": row["model_version__name"], "day": row["day"], "reviewed": row["reviewed"],
             "correct": row["correct"], "accuracy": row["correct"] / row["reviewed"]} for row in rows]


def accuracy_chart(rows: list[dict], width: int = 640, height: int = 220) -> dict:
    """Geometry of an inline SVG line chart of accuracy_by_day: one line per version, days along x."""
    left, right, top, bottom = 44, 32, 10, 28
    days = sorted({row["day"] for row in rows})
    step = (width - left - right) / max(len(days) - 1, 1)
    x_of = {day: left + (i * step if len(days) > 1 else (width - left - right) / 2) for i, day in enumerate(days)}

    def y_of(accuracy: float) -> float:
        return round(top + (1 - accuracy) * (height - top - bottom), 1)

    series = {}
    for row in rows:
        line = series.setdefault(row["version"], {"name": row["version"], "dots": []})
        line["dots"].append({"x": round(x_of[row["day"]], 1), "y": y_of(row["accuracy"]),
                             "title": f"{row['version']} {row['day']}: {percent(row['accuracy'])}% of {row['reviewed']}"})
    for index, line in enumerate(series.values()):
        line["style"] = index % SERIES_STYLES
    # Label at most about eight days, so the axis stays legible over months.
    every = max(1, -(-len(days) // 8))
    return {
        "width": width, "height": height, "left": left, "right": width - right, "bottom": height - bottom,
        "series": list(series.values()),
        "x_labels": [{"x": round(x_of[day], 1), "text": f"{day:%d %b}"} for day in days[::every]],
        "y_ticks": [{"y": y_of(value), "text": f"{value:.0%}"} for value in (0.0, 0.5, 1.0)],
    }


def confusion_counts(predictions: PredictionQuerySet) -> dict[tuple[int, int], int]:
    """(true label, answered label) -> count, over the reviewed predictions; label 10 is "not a digit"."""
    rows = predictions.reviewed().values("true_label", "answered_label").annotate(count=Count("pk")).order_by()
    return {(row["true_label"], row["answered_label"]): row["count"] for row in rows}


def confusion_table(counts: dict[tuple[int, int], int]) -> list[dict]:
    """A row per label (ten digits and "not a digit") of a cell per label; each cell's strength (1 to 7, 0 for
    an empty cell) grows with its count, among right or wrong cells."""
    largest_right = max([n for (t, p), n in counts.items() if t == p] or [1])
    largest_wrong = max([n for (t, p), n in counts.items() if t != p] or [1])
    table = []
    for true in LABELS:
        cells = []
        for predicted in LABELS:
            count = counts.get((true, predicted), 0)
            largest = largest_right if true == predicted else largest_wrong
            cells.append({"count": count, "predicted": predicted, "right": true == predicted,
                          "strength": round(1 + 6 * count / largest) if count else 0})
        table.append({"true": true, "name": label_name(true), "cells": cells, "total": sum(cell["count"] for cell in cells)})
    return table


def confused_pairs(predictions: PredictionQuerySet, counts: dict[tuple[int, int], int], limit: int = 8,
                   examples: int = 4) -> list[dict]:
    """The most frequent mistakes (true -> predicted), each with its newest few drawings."""
    mistakes = sorted(((n, t, p) for (t, p), n in counts.items() if t != p), key=lambda item: (-item[0], item[1:]))
    return [{"true": true, "predicted": predicted, "true_name": label_name(true),
             "predicted_name": label_name(predicted), "count": count,
             "examples": list(predictions.filter(true_label=true, answered_label=predicted)
                              .order_by("-created_at")[:examples])}
            for count, true, predicted in mistakes[:limit]]


def review_progress(predictions: PredictionQuerySet) -> dict:
    return predictions.aggregate(total=Count("pk"), unreviewed=Count("pk", filter=Q(true_label__isnull=True)))


def disagreement_queue(predictions: PredictionQuerySet) -> PredictionQuerySet:
    """Unreviewed drawings whose drawer reported another digit than predicted: the likeliest mistakes."""
    return (predictions.unreviewed().filter(tier=Prediction.Tier.DISPUTED)
            .select_related("model_version").order_by("-created_at"))


def second_opinion_disagreements():
    """Drawings two reviewers labelled differently, newest second opinion first."""
    return (SecondOpinion.objects.filter(label__isnull=False).exclude(label=F("first_label"))
            .select_related("prediction", "first_reviewer", "reviewer").order_by("-reviewed_at"))


def reviewer_agreement() -> list[dict]:
    """Per reviewer, over the drawings someone else labelled again (first or second): how often the two agreed."""
    answered = SecondOpinion.objects.filter(label__isnull=False)
    totals: dict[str, dict] = {}
    for role in ("first_reviewer", "reviewer"):
        rows = (answered.exclude(**{f"{role}__isnull": True}).values(f"{role}__username")
                .annotate(compared=Count("pk"), agreed=Count("pk", filter=Q(label=F("first_label")))).order_by())
        for row in rows:
            entry = totals.setdefault(row[f"{role}__username"], {"compared": 0, "agreed": 0})
            entry["compared"] += row["compared"]
            entry["agreed"] += row["agreed"]
    return [{"reviewer": name, **entry, "rate": entry["agreed"] / entry["compared"]}
            for name, entry in sorted(totals.items())]
