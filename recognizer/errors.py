"""The one shape of every error the API, /healthz and the review queue's endpoints answer: a JSON object
whose `error` a person can read."""

from __future__ import annotations

from http import HTTPStatus

from django.http import JsonResponse
from django.views import csrf

# The review queue's script posts JSON to the paths under its page and reads JSON back (its pictures
# are PNG, and the page itself HTML).
REVIEW_QUEUE = "/review/queue/"
HEALTHZ = "/healthz"


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


def answers_json(request) -> bool:
    """Whether a script calls this path and reads its answers, errors too, as JSON: the API, /healthz
    and the review queue's endpoints."""
    path = request.path_info
    return is_api(request) or path == HEALTHZ \
        or (path.startswith(REVIEW_QUEUE) and path != REVIEW_QUEUE and not path.endswith(".png"))


def as_json_error(response):
    """Django's own error answers (an unknown URL, a method not allowed, an unexpected error) in the
    JSON shape of the rest, with no internals; other answers as they are."""
    if response.status_code >= 400 and response.get("Content-Type", "").split(";")[0] != "application/json":
        json_error = error_response(status_message(response.status_code), response.status_code)
        # Only the body is replaced: a 405's Allow (which HTTP requires) and the security headers went with it.
        for name, value in response.items():
            if name.lower() not in ("content-type", "content-length"):
                json_error[name] = value
        json_error.cookies = response.cookies
        return json_error
    return response


def csrf_failure(request, reason: str = ""):
    """A write whose CSRF token is missing or stale: said in JSON to a script, and as Django says it to a page."""
    if answers_json(request):
        return error_response("the page's security token is missing or out of date: reload the page, or sign "
                              "in again if you signed out", 403)
    return csrf.csrf_failure(request, reason)
