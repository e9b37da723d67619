"""Thin views: the serializer validates, and its `create` and `update` call inference and storage; the view
answers."""

from __future__ import annotations

import logging
import os
import tempfile
from functools import partial

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_safe
from django.views.static import serve
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ErrorDetail, NotFound, PermissionDenied, Throttled
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import exception_handler

from mlcore.labels import NOT_A_DIGIT
from mlcore.render import PEN_WIDTH

from . import access, imaging, strokes
from .deadline import TooLate, deadline_of
from .errors import error_response
from .inference import model_cache
from .models import ModelUnavailable, Prediction, StorageUnavailable
from .parsers import StrictJSONParser
from .serializers import FeedbackSerializer, PredictionSerializer
from .throttles import (ImageRateThrottle, NewDrawingsThrottle, PredictionRateThrottle, in_words,
                        login_attempt_allowed)

logger = logging.getLogger(__name__)

# A day: browsers ask for /favicon.ico with every page otherwise.
FAVICON_MAX_AGE = 24 * 60 * 60
ERROR = OpenApiResponse(description="A JSON object whose `error` says what is wrong.")
OWNER_SECRET = OpenApiParameter(
    access.SECRET_HEADER, location=OpenApiParameter.HEADER, required=False,
    description="The `secret` answered when the prediction was created. Without it (or a staff session "
                "with the model permission) the prediction answers 404 like a missing one.")

IDEMPOTENCY_KEY = OpenApiParameter(
    access.IDEMPOTENCY_KEY_HEADER, location=OpenApiParameter.HEADER, required=False,
    description="A random name for the new drawing, 16 to 200 visible ASCII characters (no quotes or backslashes), "
                "the same each time the request is sent again. Whoever sends it gets the record, so make it "
                "unguessable: 128 random bits or more.")


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "the drawing changed"


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "the service is unavailable"


def api_exception_handler(exc, context):
    """DRF's answers, plus one `error` sentence a person can read."""
    if isinstance(exc, ModelUnavailable):
        logger.error("prediction refused: %s", exc)
        exc = ServiceUnavailable("the model is unavailable right now; try again later")
    elif isinstance(exc, StorageUnavailable):
        logger.error("a drawing was not stored: %s", exc)
        exc = ServiceUnavailable("the drawing could not be stored right now; nothing was kept: send it again shortly")
    elif isinstance(exc, TooLate):
        logger.warning("a write was refused: it would have been stored after its client stopped waiting")
        exc = ServiceUnavailable(f"the site was too busy to answer within {settings.REQUEST_DEADLINE_SECONDS} s; "
                                 "nothing was stored: send the drawing again")
    elif isinstance(exc, Prediction.DoesNotExist):
        # Its drawer deleted it between this request's reading it and its writing: a label, a redrawing,
        # a second delete, or a creation sent again as its first record went.
        exc = NotFound("the drawing was deleted")
    elif isinstance(exc, Throttled) and exc.wait is not None:
        # DRF says "Expected available in 81234 seconds"; the page shows the sentence to a person.
        exc.detail = ErrorDetail(f"too many requests from this address; try again in {in_words(exc.wait)}",
                                 code=exc.default_code)
    response = exception_handler(exc, context)
    if response is None:
        return None   # not the client's fault: Django answers 500, which the API's middleware makes JSON
    fields = dict(response.data) if isinstance(response.data, dict) else {"detail": response.data}
    # JSON whatever the client accepts, so that the browsable API's errors keep their message too.
    answer = error_response(fields.pop("error", None) or _first_message(fields), response.status_code, **fields)
    for header in ("Retry-After", "WWW-Authenticate"):
        if header in response:
            answer[header] = response[header]
    return answer


def _first_message(data) -> str:
    if isinstance(data, dict) and data:
        key, value = next(iter(data.items()))
        message = _first_message(value)
        return message if key in ("detail", "non_field_errors") else f"{key}: {message}"
    if isinstance(data, list) and data:
        return _first_message(data[0])
    return str(data)


class NewestFirst(CursorPagination):
    """Pages through every drawing, newest first, each page at one page's cost: a numbered page counted every
    row and read all those before it (0.67 s for the last of 300,000 on SQLite)."""

    ordering = ("-created_at", "-id")
    page_size = 20

    def paginate_queryset(self, queryset, request, view=None):
        # A crafted cursor's position that is no moment (`p=garbage`, the year 10000) was a 500.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None


@extend_schema(tags=["predictions"])
@extend_schema_view(
    list=extend_schema(summary="Stored predictions, newest first (staff with the view permission only)",
                       responses={200: PredictionSerializer(many=True), 403: ERROR}),
    retrieve=extend_schema(summary="One stored prediction", parameters=[OWNER_SECRET],
                           responses={200: PredictionSerializer, 404: ERROR}),
    destroy=extend_schema(summary="Delete a prediction and its drawing", parameters=[OWNER_SECRET],
                          responses={204: None, 404: ERROR, 429: ERROR}),
)
class PredictionViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Drawings sent for recognition, newest first."""

    queryset = Prediction.objects.select_related("model_version")
    serializer_class = PredictionSerializer
    parser_classes = [StrictJSONParser, MultiPartParser]
    pagination_class = NewestFirst

    def get_queryset(self):
        predictions = super().get_queryset()
        if self.action == "list":
            if not access.may_list(self.request):
                raise PermissionDenied("only staff with the permission to view predictions may list them")
            return predictions
        # Every detail action (read, change, feedback, delete) looks its prediction up in here.
        return access.accessible(self.request, predictions)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request.method not in SAFE_METHODS:
            context["deadline"] = deadline_of(self.request)
        return context

    def get_throttles(self):
        # Writes are limited per client, those sending an image apart too, new drawings also by the day (in
        # create); reading is not.
        return [] if self.request.method in SAFE_METHODS else [PredictionRateThrottle(), ImageRateThrottle()]

    @extend_schema(summary="Recognise a drawing",
                   description="With an `Idempotency-Key` header the request can be sent again safely when its "
                               "answer is lost: within an hour of the first, it answers the record the first one "
                               "created (200, with the same `secret`), given this version of the drawing if it "
                               "changed, not a second record.",
                   parameters=[IDEMPOTENCY_KEY],
                   responses={201: PredictionSerializer, 200: PredictionSerializer, 400: ERROR, 403: ERROR,
                              404: ERROR, 413: ERROR, 429: ERROR, 503: ERROR})
    def create(self, request, *args, **kwargs):
        # A try sent again updates the record an earlier one made, read by that record's source as a PUT is.
        stored, idempotency_key = access.sent_before(access.idempotency_key_sent(request))
        # Only a request that may make a new drawing counts against the day's.
        new_drawings = NewDrawingsThrottle() if stored is None else None
        if new_drawings is not None:
            new_drawings.refuse_if_spent(request, self)
        serializer = self.get_serializer(stored, data=request.data)
        self.read(serializer)
        save = partial(serializer.save, idempotency_key=idempotency_key)
        prediction = save() if new_drawings is None else new_drawings.made(request, self, save)
        # Another try with the same key may have made the drawing a moment before: this one updated it.
        created = new_drawings is not None and prediction.created
        return Response(serializer.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(summary="Replace a drawing with its newer version and recognise it again",
                   description="The owner sends the whole drawing as it is now (usually `strokes`); the record keeps "
                               "its id, `revision` counts the changes and `updated_at` says when the last was made.",
                   parameters=[OWNER_SECRET],
                   responses={200: PredictionSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 413: ERROR, 429: ERROR,
                              503: ERROR})
    def update(self, request, pk=None):
        # Only PUT: an update always carries the whole drawing, so there is nothing partial to PATCH.
        serializer = self.get_serializer(self.get_object(), data=request.data)
        self.read(serializer)
        serializer.save()
        return Response(serializer.data)

    @extend_schema(summary="Say which digit the drawing was meant to be", request=FeedbackSerializer,
                   parameters=[OWNER_SECRET],
                   responses={200: PredictionSerializer, 400: ERROR, 404: ERROR, 409: ERROR, 429: ERROR})
    @action(detail=True, methods=["post"])
    def feedback(self, request, pk=None):
        prediction = self.get_object()
        feedback = FeedbackSerializer(data=request.data)
        feedback.is_valid(raise_exception=True)
        try:
            prediction.report(feedback.validated_data["label"], feedback.validated_data.get("revision"))
        except Prediction.Redrawn:
            raise Conflict("the drawing changed after the answer the label was given for") from None
        return Response(self.get_serializer(prediction).data)

    def perform_destroy(self, prediction):
        prediction.discard()

    def read(self, serializer) -> None:
        """Validates the drawing: an image is decoded and read here, and the CPU that took is charged against
        IMAGE_RATE_LIMIT (`ImageRateThrottle.reading`)."""
        with ImageRateThrottle().reading(self.request, self):
            serializer.is_valid(raise_exception=True)


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, generated once per process: it changes only with the code, and generating it
    costs about 20 times a health check. A URL's cache would generate it again for every new query
    string or Accept header, anonymous and unthrottled."""

    _schema = None

    @extend_schema(**SCHEMA_KWARGS)
    def get(self, request, *args, **kwargs):
        # In the site's language only: drf-spectacular switches to any `?lang=`, which would write the first
        # visitor's language into every later answer, and Django keeps each language asked for in memory for good.
        with translation.override(settings.LANGUAGE_CODE):
            return self._get_schema_response(request)

    def _get_version_parameter(self, request):
        # The API has one version; a `?version=` would otherwise be written into the schema and its file name.
        return None

    def _get_schema_response(self, request):
        if SchemaView._schema is None:
            SchemaView._schema = super()._get_schema_response(request).data
        return Response(SchemaView._schema, headers={
            "Content-Disposition": f'inline; filename="{self._get_filename(request, None)}"'})


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's, the API's JSON): the site's icon.
    Not a permanent redirect: the icon's static name changes with its content."""
    response = redirect(static("recognizer/icon.svg"))
    patch_cache_control(response, public=True, max_age=FAVICON_MAX_AGE)
    return response


# A monitor's probe carries no token, and the check writes nothing: any other method is a 405.
@csrf_exempt
@require_safe
def healthz(request):
    """200 when the model is loaded, the database answers and a drawing's file can be written, else 503
    with a generic reason.

    The public sees no paths or driver messages; the log has the detail."""
    try:
        # Asks the database which version is active, and loads it if this process has not.
        version = model_cache.current().version
        # A file of one byte, unnamed and gone as it closes: no drawing could be stored without it. The
        # folder is made as the first drawing's would be.
        os.makedirs(settings.MEDIA_ROOT, exist_ok=True)
        with tempfile.TemporaryFile(dir=settings.MEDIA_ROOT) as probe:
            probe.write(b"0")
            probe.flush()
        stale = not model_cache.serves_active()
    except (DatabaseError, ModelUnavailable, OSError) as exc:
        # A line, not a traceback, for a model that cannot be loaded: a balancer probes every second.
        logger.error("health check failed: %s", exc, exc_info=not isinstance(exc, ModelUnavailable))
        return error_response("the model, the database or the drawings' storage is unavailable", 503,
                              status="unavailable")
    if stale:
        # Drawings are answered, by the version before: the log said once why the active one is not.
        return error_response("this server cannot load the active model version and answers with the one before",
                              503, status="stale", model_version=version.name)
    return JsonResponse({"status": "ok", "model_version": version.name})


@require_safe
def drawing(request, path):
    """A stored drawing, to its owner (a signed URL) or to staff. The URL pattern admits only random
    names with image extensions, and serve() refuses anything outside MEDIA_ROOT;
    SecurityMiddleware adds nosniff."""
    # A file no row holds is no one's: a deleted drawing whose file could not be removed (a read-only or
    # lost mount; `delete_orphan_drawings` removes it later), or a version its drawer drew over.
    if not access.may_see_drawing(request, path) or not Prediction.objects.filter(image=path).exists():
        raise Http404("no such drawing")
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    # Kept by no browser: a drawing its owner deleted was still shown from the cache for an hour, and a
    # shared computer's disk kept it.
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_safe
@ensure_csrf_cookie
# The answer sets its visitor's CSRF cookie: no shared cache may hand it to the next.
@cache_control(private=True)
def index(request):
    return render(request, "recognizer/index.html",
                  {"max_strokes": strokes.MAX_STROKES, "max_points": strokes.MAX_POINTS,
                   "max_time_ms": strokes.MAX_TIME_MS, "off_canvas": strokes.OFF_CANVAS,
                   "max_image_bytes": settings.MAX_IMAGE_BYTES, "min_image_side": imaging.MIN_IMAGE_SIDE,
                   "pen_width": PEN_WIDTH, "pointer_types": " ".join(strokes.POINTER_TYPES),
                   "not_a_digit": NOT_A_DIGIT})


def admin_login(request, **kwargs):
    """The admin's sign-in page, refusing attempts past LOGIN_RATE_LIMIT from one client (429)."""
    if request.method == "POST":
        allowed, wait = login_attempt_allowed(request)
        if not allowed:
            response = HttpResponse(f"Too many sign-in attempts from your address; try again in "
                                    f"{in_words(wait)}.\n", status=429,
                                    content_type="text/plain; charset=utf-8")
            response["Retry-After"] = str(int(wait) + 1)
            return response
    return admin.site.login(request, **kwargs)
