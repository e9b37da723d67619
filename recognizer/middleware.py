"""The API's guard, for /api/: body limits, charsets, cross-site writes, and a JSON answer for every error;
the body limit and charsets of every other page, and JSON errors (a 503 in a database outage) for the review
queue's endpoints too; and the Permissions-Policy header, which Django does not set."""

from __future__ import annotations

import codecs
import contextlib
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, DataError, IntegrityError
from django.http import HttpResponse
from django.http.request import RawPostDataException, UnreadablePostError
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.utils.http import is_same_domain, parse_header_parameters

from .deadline import proxy_stamp
from .errors import answers_json, as_json_error, error_response, is_api

logger = logging.getLogger(__name__)

# Methods that change nothing: a cross-site request of one of these is let through.
NON_WRITE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
# The charsets a body is read in (JSON is UTF-8, RFC 8259; the pages' forms send UTF-8). Django decodes a
# body in any charset Python knows that the client names: punycode's decoder takes time in the square of the
# length (an 800 KB body held a worker for 4.4 s of CPU, 14 MiB would hold it for minutes), and UTF-7 spells
# any character in ASCII, past the JSON parser's rule for large bodies.
READ_CHARSETS = ("utf-8", "ascii")
CHARSET_REFUSAL = "the body must be UTF-8: name charset=utf-8 in its Content-Type, or no charset"
# Parts of a multipart body to the API, which takes an image and its source. Django reads every line of a
# part's headers with the e-mail parser, and counts a part with a file name but no field name against no
# limit: a body of header-only parts cost 0.9 s of CPU a megabyte, answered 400.
MAX_MULTIPART_PARTS = 16
DRAIN_CHUNK_BYTES = 64 * 1024
# The WSGI environ key with_readable_content_type marks a request with: why it is refused, and its status.
UNREADABLE_CONTENT_TYPE = "recognizer.unreadable_content_type"


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api(request):
            response = (unreadable_content_type(request) or form_too_large(request) or foreign_charset(request)
                        or self.get_response(request))
            response = as_json_error(response) if answers_json(request) else response
        else:
            # The browsable API's HTML errors too.
            response = as_json_error(self.refusal(request) or self.get_response(request))
            # Answers carry a drawing's secret or what only its owner may see; no cache on the way
            # (a CDN, a corporate proxy) may keep them.
            patch_cache_control(response, private=True, no_store=True)
        return response

    def refusal(self, request):
        if unreadable := unreadable_content_type(request):
            return unreadable
        length = declared_length(request.META)
        if length is None:
            return error_response("the Content-Length header is not a number", 400)
        if length > settings.MAX_REQUEST_BYTES:
            return error_response(f"the request body is {length:,} bytes; the limit is "
                                  f"{settings.MAX_REQUEST_BYTES:,}", 413)
        if names_a_foreign_charset(request):
            return error_response(CHARSET_REFUSAL, 415)
        parts = multipart_parts(request)
        if parts > MAX_MULTIPART_PARTS:
            return error_response(f"the form has {parts:,} parts; the limit is {MAX_MULTIPART_PARTS}", 400)
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and not length:
            # WSGI gives the application no body without a Content-Length (Django reads none),
            # so a chunked body would be taken for an empty one.
            return error_response("send the body with a Content-Length header, not chunked", 411)
        if request.method not in NON_WRITE_METHODS and is_cross_site(request):
            return error_response("writes from another site's pages are refused", 403)
        return None

    def process_exception(self, request, exception):
        # An integrity or data error is a bug to see as a 500, not an outage.
        if not isinstance(exception, DatabaseError) or isinstance(exception, (IntegrityError, DataError)):
            return None
        logger.exception("database error on %s", request.path)
        if answers_json(request):
            return error_response("the database is unavailable; try again shortly", 503)
        # A page or a drawing's picture alike: they were a 500, the site's word for a bug. Rendered without the
        # request: its context asks the database for the user.
        return HttpResponse(render_to_string("503.html"), status=503)


def reading_the_whole_body(get_response):
    """Every answer leaves no byte of the body unread, a refusal before reading it included (Django's HTTPS
    redirect, a charset, a 429, a PUT's 404): gunicorn closed the connection on unread bytes, which reset
    it, and nginx passed on a cut answer or a 502 (7 of 20 refusals of an 800 KB body).

    Only a body nginx has buffered whole (it stamps the request) is read: from a client straight, the read
    would wait on a client that declared a length and sent nothing. One over the limit is not read; nginx
    refuses those first."""
    def middleware(request):
        response = get_response(request)
        if buffered_body_length(request.META):
            with contextlib.suppress(UnreadablePostError, RawPostDataException):
                while request.read(DRAIN_CHUNK_BYTES):
                    pass
        return response

    return middleware


def buffered_body_length(meta) -> int:
    """The length of a body nginx has buffered whole (it stamps the requests it passes on) and that is within
    MAX_REQUEST_BYTES, read from a request's META (its WSGI environ); 0 for any other. Without a proxy in
    front (NUM_PROXIES 0) a stamp is the client's own, and its body may never come."""
    length = declared_length(meta)
    stamped = proxy_stamp(meta) is not None
    return length if stamped and length and length <= settings.MAX_REQUEST_BYTES else 0


def multipart_parts(request) -> int:
    """How many parts a multipart body holds, counted before Django's parser reads their headers: each opens
    with its delimiter, and one more closes the body."""
    boundary = request.content_params.get("boundary", "")
    if request.content_type != "multipart/form-data" or not boundary.isascii():
        return 0
    delimiter = b"--" + boundary.encode()
    body = request.body
    # A delimiter opens a line (RFC 2046): the first may open the body.
    return max(0, body.count(b"\r\n" + delimiter) + body.startswith(delimiter) - 1)


def declared_length(meta) -> int | None:
    """The body's length as the Content-Length header of a request's META (its WSGI environ) says it, 0
    without one; None where it is no number. One of more than 15 digits (Python reads none of over 4,300) is
    over any limit, and read as 10**15."""
    length = meta.get("CONTENT_LENGTH") or "0"
    if not (length.isascii() and length.isdigit()):
        return None
    digits = length.lstrip("0")
    return int(digits or "0") if len(digits) <= 15 else 10**15


def form_too_large(request) -> HttpResponse | None:
    """A 413 for a body over MAX_FORM_BYTES outside the API, before Django's CSRF check parses it as a form."""
    length = declared_length(request.META)
    if length is not None and length > settings.MAX_FORM_BYTES:
        return HttpResponse(f"The request body is over the limit of {settings.MAX_FORM_BYTES:,} bytes.\n",
                            status=413, content_type="text/plain; charset=utf-8")
    return None


def names_a_foreign_charset(request) -> bool:
    return not readable_charset(request.content_params.get("charset"))


def readable_charset(charset: str | None) -> bool:
    """Whether a body or query string in `charset` is read: none, one of READ_CHARSETS, or one Python does not
    know, which Django reads as UTF-8 (a name it cannot even look up, holding a NUL, is not)."""
    try:
        return charset is None or codecs.lookup(charset).name in READ_CHARSETS
    except LookupError:
        return True
    except ValueError:
        return False


def foreign_charset(request) -> HttpResponse | None:
    """A 415 outside the API for a body in a charset other than READ_CHARSETS: in JSON where a script reads
    the answers, else in text."""
    if not names_a_foreign_charset(request):
        return None
    if answers_json(request):
        return error_response(CHARSET_REFUSAL, 415)
    return HttpResponse(f"Unsupported media type: {CHARSET_REFUSAL}.\n", status=415,
                        content_type="text/plain; charset=utf-8")


def is_cross_site(request) -> bool:
    """Whether a browser sent this request from another site's page.

    Browsers name the page's origin in `Origin` (and modern ones say `Sec-Fetch-Site`) on every
    write; clients without a page (curl, scripts) send neither and are not cross-site.
    """
    if request.META.get("HTTP_SEC_FETCH_SITE") == "cross-site":
        return True
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return False
    try:
        own = f"{request.scheme}://{request.get_host()}"
    except DisallowedHost:
        return False   # CommonMiddleware answers 400 for a host not in ALLOWED_HOSTS
    if origin == own or origin in settings.CSRF_TRUSTED_ORIGINS:
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return True   # no browser names a page's origin so ("http://[::1"): not a page of this site
    # Trusted origins may name subdomains with a wildcard, as Django's CSRF check allows.
    return not any(is_same_domain(parts.netloc, urlsplit(trusted).netloc.replace("*", "", 1))
                   for trusted in settings.CSRF_TRUSTED_ORIGINS
                   if "*" in trusted and urlsplit(trusted).scheme == parts.scheme)


def with_readable_content_type(application):
    """The WSGI application, for which a Content-Type Django cannot parse (an RFC 2231 parameter in a charset
    Python does not know) is a 400, and a charset it would fail to read the query string in (rot13, base64, a
    name with a NUL) a 415: Django builds the request from them before any middleware, and every URL answered
    an HTML 500 and logged a traceback. Such a request reaches Django without its Content-Type, marked with
    its refusal, which RequestGuardMiddleware answers: answered here, it lacked every header the middleware
    gives an answer."""
    def guarded(environ, start_response):
        refusal = content_type_refusal(environ.get("CONTENT_TYPE", ""))
        if refusal is not None:
            environ["CONTENT_TYPE"] = ""
            environ[UNREADABLE_CONTENT_TYPE] = refusal
        return application(environ, start_response)

    return guarded


def content_type_refusal(content_type: str) -> tuple[str, int] | None:
    """Why a request with this Content-Type is refused, and its status, where Django cannot read it."""
    try:
        _, params = parse_header_parameters(content_type)
    except ValueError:
        return "the Content-Type header cannot be read", 400
    if not readable_charset(params.get("charset")):
        return CHARSET_REFUSAL, 415
    return None


def unreadable_content_type(request) -> HttpResponse | None:
    """The JSON refusal of a request with_readable_content_type marked."""
    refusal = request.META.get(UNREADABLE_CONTENT_TYPE)
    return error_response(*refusal) if refusal else None


def permissions_policy(get_response):
    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response

    return middleware
