"""The one shape of every error the API and /healthz answer: a JSON object whose `error` a person can read."""

from __future__ import annotations

from http import HTTPStatus

from django.http import JsonResponse


def error_response(message: str, status: int, /, **fields) -> JsonResponse:
    """`{"error": message, ...fields}` with the given status."""
    return JsonResponse({"error": message, **fields}, status=status)


def status_message(status: int) -> str:
    """A sentence for a status code alone, for answers whose details must stay private."""
    if status == HTTPStatus.NOT_FOUND:
        return "not found"
    if status >= 500:
        return "the server failed to answer this request; the error is logged"
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:   # a code outside the standard's list
        return "the request was refused"


def is_api(request) -> bool:
    return request.path_info.startswith("/api/")
