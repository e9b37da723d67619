"""The review dashboard: how each model version fares on reviewed drawings, and what to review next."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import dashboard
from .models import Prediction

QUEUE_LENGTH = 50


@require_GET
@staff_member_required
@permission_required("recognizer.view_prediction", raise_exception=True)
def review_dashboard(request):
    predictions = Prediction.objects.all()
    by_day = dashboard.accuracy_by_day(predictions)
    counts = dashboard.confusion_counts(predictions)
    queue = dashboard.disagreement_queue(predictions)
    context = {
        **admin.site.each_context(request),
        "title": "Review dashboard",
        "progress": dashboard.review_progress(predictions),
        "accuracy_by_day": by_day,
        "chart": dashboard.accuracy_chart(by_day),
        "confusion": dashboard.confusion_table(counts),
        "confused_pairs": dashboard.confused_pairs(predictions, counts),
        "queue": queue[:QUEUE_LENGTH],
        "queue_total": queue.count(),
    }
    return render(request, "recognizer/dashboard.html", context)
