"""Guards in front of the views: oversized bodies and database outages get JSON answers."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError
from django.http import JsonResponse

logger = logging.getLogger(__name__)


class ApiGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"error": "the Content-Length header is not a number"}, status=400)
        if length > settings.MAX_REQUEST_BYTES:
            return JsonResponse({"error": f"the request body is {length:,} bytes; the limit is "
                                          f"{settings.MAX_REQUEST_BYTES:,}"}, status=413)
        return self.get_response(request)

    def process_exception(self, request, exception):
        # An integrity or data error is a bug to see as a 500, not an outage.
        if isinstance(exception, DatabaseError) and not isinstance(exception, (IntegrityError, DataError)):
            logger.exception("database error on %s", request.path)
            return JsonResponse({"error": "the database is unavailable; try again shortly"}, status=503)
        return None
