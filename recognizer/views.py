"""Thin views: validate with a serializer, call inference and storage, answer."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET
from django.views.static import serve
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import exception_handler

from . import strokes
from .inference import ModelUnavailable, get_predictor
from .models import Prediction
from .serializers import FeedbackSerializer, PredictionSerializer
from .throttles import PredictionRateThrottle

logger = logging.getLogger(__name__)

# Each of these runs the model, so each counts against the client's rate limit.
WRITES = ("create", "update", "feedback")
ERROR = OpenApiResponse(description="A JSON object whose `error` says what is wrong.")


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "the service is unavailable"


def api_exception_handler(exc, context):
    """DRF's answers, plus one `error` sentence a person can read."""
    if isinstance(exc, ModelUnavailable):
        logger.error("prediction refused: %s", exc)
        exc = ServiceUnavailable("the model is unavailable right now; try again later")
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "error" not in response.data:
        response.data = {"error": _first_message(response.data), **response.data}
    return response


def _first_message(data) -> str:
    if isinstance(data, dict) and data:
        key, value = next(iter(data.items()))
        message = _first_message(value)
        return message if key in ("detail", "non_field_errors") else f"{key}: {message}"
    if isinstance(data, list) and data:
        return _first_message(data[0])
    return str(data)


@extend_schema(tags=["predictions"])
@extend_schema_view(
    list=extend_schema(summary="Stored predictions, newest first",
                       responses={200: PredictionSerializer(many=True), 404: ERROR}),
    retrieve=extend_schema(summary="One stored prediction", responses={200: PredictionSerializer, 404: ERROR}),
)
class PredictionViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Drawings sent for recognition, newest first."""

    queryset = Prediction.objects.select_related("model_version")
    serializer_class = PredictionSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_throttles(self):
        # Writes are limited per client; reading is not.
        return [PredictionRateThrottle()] if self.action in WRITES else []

    @extend_schema(summary="Recognise a drawing",
                   responses={201: PredictionSerializer, 400: ERROR, 413: ERROR, 429: ERROR, 503: ERROR})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @extend_schema(summary="Replace a drawing with its newer version and recognise it again",
                   description="The owner sends the whole drawing as it is now (usually `strokes`); the record keeps "
                               "its id, `revision` counts the changes and `updated_at` says when the last was made.",
                   responses={200: PredictionSerializer, 400: ERROR, 404: ERROR, 413: ERROR, 429: ERROR, 503: ERROR})
    def update(self, request, pk=None):
        # Only PUT: an update always carries the whole drawing, so there is nothing partial to PATCH.
        serializer = self.get_serializer(self.get_object(), data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)

    @extend_schema(summary="Say which digit the drawing was meant to be", request=FeedbackSerializer,
                   responses={200: PredictionSerializer, 400: ERROR, 404: ERROR, 429: ERROR})
    @action(detail=True, methods=["post"])
    def feedback(self, request, pk=None):
        prediction = self.get_object()
        feedback = FeedbackSerializer(data=request.data)
        feedback.is_valid(raise_exception=True)
        prediction.reported_label = feedback.validated_data["label"]
        prediction.save(update_fields=["reported_label"])
        return Response(self.get_serializer(prediction).data)


@require_GET
def healthz(request):
    """200 when the model is loaded and the database answers, else 503 with the reason."""
    try:
        # Asks the database which version is active, and loads it if this process has not.
        version, _ = get_predictor()
    except (DatabaseError, ModelUnavailable) as exc:
        return JsonResponse({"status": "unavailable", "error": str(exc)}, status=503)
    return JsonResponse({"status": "ok", "model_version": version.name})


@require_GET
def drawing(request, path):
    """A stored drawing. The URL pattern admits only random names with image extensions, and
    serve() refuses anything outside MEDIA_ROOT; SecurityMiddleware adds nosniff."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)


@require_GET
@ensure_csrf_cookie
def index(request):
    return render(request, "recognizer/index.html",
                  {"max_strokes": strokes.MAX_STROKES, "max_points": strokes.MAX_POINTS})
