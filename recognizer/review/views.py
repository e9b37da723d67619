"""Reviewers' pages: the dashboard, and the queue with the small JSON endpoints its script calls."""

from __future__ import annotations

import functools
import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from mlcore.labels import NOT_A_DIGIT
from mlcore.render import PEN_WIDTH
from mlcore.validation import is_integer

from .. import access
from ..errors import answers_json, error_response
from ..models import ModelUnavailable, ModelVersion, Prediction
from ..parsers import bounded_load
from . import dashboard, queue
from .pictures import input_picture, saliency_png
from .serializers import LabelSerializer

QUEUE_LENGTH = 50


def reviewers_only(permission: str):
    """Staff with the given permission on predictions (`access.is_staff_with`); others are sent to log in or
    refused. What they see is theirs alone: no cache keeps it, as none keeps the admin's pages."""
    def decorate(view):
        @functools.wraps(view)
        def checked(request, *args, **kwargs):
            if not access.is_staff_with(request, permission):
                # Said on the page (templates/403.html), and to the queue's script, which shows it: a bare
                # "Forbidden" told a new reviewer, or one whose permission was taken away, nothing.
                refusal = (f"this page needs the permission to {permission} predictions, "
                           "which your account does not have")
                if answers_json(request):
                    return error_response(refusal, 403)
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)
        return never_cache(staff_member_required(checked))
    return decorate


@require_safe
@reviewers_only("view")
def review_dashboard(request):
    predictions = Prediction.objects.all()
    by_day = dashboard.accuracy_by_day(predictions, since=timezone.now() - timedelta(days=dashboard.DAYS_SHOWN))
    counts = dashboard.confusion_counts(predictions)
    disputed = dashboard.disagreement_queue(predictions)
    context = {
        **admin.site.each_context(request),
        "title": "Review dashboard",
        "progress": dashboard.review_progress(predictions),
        "accuracy_by_day": by_day,
        "days_shown": dashboard.DAYS_SHOWN,
        "chart": dashboard.accuracy_chart(by_day),
        "confusion": dashboard.confusion_table(counts),
        "confused_pairs": dashboard.confused_pairs(predictions, counts),
        "queue": disputed[:QUEUE_LENGTH],
        "queue_total": disputed.count(),
        "second_opinion_disagreements": dashboard.second_opinion_disagreements()[:QUEUE_LENGTH],
        "reviewer_agreement": dashboard.reviewer_agreement(),
    }
    return render(request, "recognizer/dashboard.html", context)


@require_safe
@reviewers_only("change")
def review_queue(request):
    context = {
        **admin.site.each_context(request),
        "title": "Review queue",
        "filters": queue.Filters.from_query(request.GET),
        "versions": ModelVersion.objects.order_by("-created_at").values_list("pk", "name"),
        "sources": Prediction.Source.choices,
        "digits": range(10),
        "lease_seconds": settings.REVIEW_LEASE_SECONDS,
        "pen_width": PEN_WIDTH,
        "not_a_digit": NOT_A_DIGIT,
    }
    return render(request, "recognizer/queue.html", context)


def item_data(prediction: Prediction, reviewer) -> dict:
    return {
        "id": str(prediction.pk),
        "image_url": prediction.image.url,
        "input": input_picture(prediction),
        "digit": prediction.digit,
        "confidence": prediction.confidence,
        "top3": prediction.top3,
        "reported_label": prediction.reported_label,
        "tier": queue.why_here(prediction),
        "second_opinion": queue.is_second_opinion(prediction, reviewer),
        "model_version": prediction.model_version.name,
        "source": prediction.source,
        "created_at": prediction.created_at.isoformat(),
        "revision": prediction.revision,
        "strokes": prediction.strokes,
    }


def with_json_object(view):
    """The view, given the request's JSON object after the request (an empty body is an empty object); any
    other body is a 400 that says why (it was read as no object at all)."""
    @functools.wraps(view)
    def called_with_body(request, *args, **kwargs):
        try:
            body = bounded_load(request.body.decode("utf-8") or "{}")
        except ValueError as exc:
            return error_response(f"the body is not JSON: {exc}", 400)
        if not isinstance(body, dict):
            return error_response("the body must be a JSON object", 400)
        return view(request, body, *args, **kwargs)
    return called_with_body


# The name a queue page gives itself (random hex): which of a reviewer's pages holds a lease.
PAGE_NAME = re.compile(r"[0-9a-f]{1,32}")


def page_of(body: dict, field: str = "page") -> str:
    """The page a request of the queue's comes from (or the one its `field` names); "" where it names none (or
    no name a page gives)."""
    page = body.get(field)
    return page if isinstance(page, str) and PAGE_NAME.fullmatch(page) else ""


# What the queue's refusals say, the same from every endpoint.
REFUSALS = {
    Prediction.DoesNotExist: (404, "no such drawing"),
    # Before the kind it is one of: the first that matches answers.
    queue.OpenInAnotherPage: (409, "this drawing is open in another of your tabs"),
    queue.LeasedByAnother: (409, "another reviewer has this drawing now"),
    queue.LabelledInAnotherPage: (409, "you labelled this drawing in another tab or the admin meanwhile"),
    queue.LabelledByAnother: (409, "another reviewer labelled this drawing meanwhile"),
}


def refused(exc: Exception) -> JsonResponse:
    status, message = next(answer for kind, answer in REFUSALS.items() if isinstance(exc, kind))
    return error_response(message, status)


def drawing_ids(values, limit: int) -> list[uuid.UUID]:
    """The ids among the first `limit` values of a list sent by the page; anything else in it is no id."""
    ids = []
    for value in values[:limit] if isinstance(values, list) else []:
        try:
            ids.append(uuid.UUID(value))
        except (TypeError, ValueError, AttributeError):
            continue
    return ids


@require_POST
@reviewers_only("change")
@with_json_object
def next_item(request, body):
    """Lease and describe the next drawing; body: the filters, `exclude`, the ids skipped this session, and
    `resume`, the drawing a reloaded page showed, with `shown_by`, the page that showed it. With
    `"progress": false` the counts are left out: after a label, the label's answer carries them."""
    filters = queue.Filters.from_query(body)
    exclude = drawing_ids(body.get("exclude"), limit=1000)
    resume = next(iter(drawing_ids([body.get("resume")], limit=1)), None)
    prediction = queue.take(request.user, filters, exclude=exclude, resume=resume, page=page_of(body),
                            shown_by=page_of(body, "shown_by"))
    answer = {"item": None if prediction is None else item_data(prediction, request.user)}
    # The counts grow with the table on PostgreSQL: a keypress asked for them twice.
    if body.get("progress") is not False:
        answer["progress"] = queue.progress(request.user, filters)
    return JsonResponse(answer)


@require_POST
@reviewers_only("change")
@with_json_object
def label(request, body, prediction_id):
    """Save a label now (`label`: 0-9, 10 for not a digit); `null` undoes it and gives the drawing back.
    `revision`, the drawing's as shown, refuses a label for a drawing changed since."""
    given = LabelSerializer(data=body)
    if not given.is_valid():
        # The page shows one sentence: the first field's.
        return error_response(next(iter(given.errors.values()))[0], 400)
    value, revision = given.validated_data["label"], given.validated_data["revision"]
    try:
        prediction = queue.save_label(prediction_id, request.user, value, revision, page=page_of(body))
    except ValueError as exc:
        return error_response(str(exc), 400)
    except tuple(REFUSALS) as exc:
        return refused(exc)
    except Prediction.Redrawn:
        # Anyone may label the newer drawing now, this reviewer too once the queue offers it again.
        queue.release(prediction_id, request.user, page_of(body))
        return error_response("its drawer changed this drawing after it was shown to you; "
                              "it is back in the queue", 409, redrawn=True)
    filters = queue.Filters.from_query(body)
    answer = {"saved": True, "progress": queue.progress(request.user, filters)}
    if value is None:
        prediction = Prediction.objects.select_related("model_version").get(pk=prediction.pk)
        answer["item"] = item_data(prediction, request.user)
    return JsonResponse(answer)


@require_POST
@reviewers_only("change")
@with_json_object
def renew_lease(request, body, prediction_id):
    """Keep the drawing on show (`second_opinion`: whether the page shows it as one), and where its drawer
    changed it since the page showed it at `revision`, the drawing as it is now."""
    try:
        prediction = queue.renew(prediction_id, request.user, second_opinion=body.get("second_opinion") is True,
                                 page=page_of(body))
    except tuple(REFUSALS) as exc:
        return refused(exc)
    answer = {"leased": True}
    shown = body.get("revision")
    if is_integer(shown) and shown != prediction.revision:
        # Shown now, before a label is spent on the old version and refused.
        answer["item"] = item_data(Prediction.objects.select_related("model_version").get(pk=prediction.pk),
                                   request.user)
    return JsonResponse(answer)


@require_POST
@reviewers_only("change")
@with_json_object
def release_lease(request, body, prediction_id):
    queue.release(prediction_id, request.user, page_of(body))
    return JsonResponse({"released": True})


@require_safe
@reviewers_only("change")
def saliency(request, prediction_id):
    """Which pixels drove the model's answer (Integrated Gradients), as a 28x28 alpha mask."""
    prediction = get_object_or_404(Prediction.objects.select_related("model_version"), pk=prediction_id)
    try:
        picture = saliency_png(prediction)
    except ModelUnavailable as exc:
        raise Http404(str(exc)) from None
    return HttpResponse(picture, content_type="image/png")
