"""Who may see and change a drawing: its creator, through the secret answered once, or staff.

A prediction's creator gets a secret in the answer that created it; only its SHA-256 is stored.
The secret is random, or, when the creating request names the drawing with an `Idempotency-Key`
header, an HMAC of that key under SECRET_KEY: a request sent again after its answer was lost then
gives the same secret, and finds the record the first one stored (sent_before).
Requests about that prediction carry it in the `X-Drawing-Secret` header. Staff sessions pass
with the model permission the request needs (view to read, change to change or give feedback,
delete to delete). To anyone else a prediction does not exist: the API filters it out of the
queryset, so an existing id answers the same 404 as a missing one.

Drawing files are served to their owner at URLs signed with django.core.signing that expire after
DRAWING_URL_MAX_AGE seconds; staff sessions with the view permission need no signature, and are given none.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework.exceptions import ValidationError

from .models import Prediction

SECRET_HEADER = "X-Drawing-Secret"
SECRET_BYTES = 32
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
# Visible ASCII but quote and backslash, bare or as a quoted string (the IETF draft's form); at least
# 16 characters, since whoever else sends a drawing's key gets its record.
IDEMPOTENCY_KEY_PATTERN = re.compile(r'(?P<quote>"?)(?P<key>[!#-\[\]-~]{16,200})(?P=quote)')
_SECRET_SALT = "recognizer.owner-secret"
# A retry comes within minutes; a key sent again later is a constant or another client's, and makes a
# record of its own.
IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=1)
SIGNATURE_PARAMETER = "signature"
_SIGNING_SALT = "recognizer.drawing-url"

# The permission each method needs; every other method changes the prediction.
_PERMISSIONS = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "DELETE": "delete"}


def new_secret(idempotency_key: str | None = None) -> tuple[str, str]:
    """An owner secret and the hash to store in its place: fresh, or the one an idempotency key always gives."""
    secret = (salted_hmac(_SECRET_SALT, idempotency_key, algorithm="sha256").hexdigest() if idempotency_key
              else secrets.token_urlsafe(SECRET_BYTES))
    return secret, hash_secret(secret)


def idempotency_key_sent(request) -> str | None:
    """The key the client named its new drawing with, if it sent one; a malformed one is a 400."""
    sent = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if sent is None:
        return None
    match = IDEMPOTENCY_KEY_PATTERN.fullmatch(sent)
    if match is None:
        raise ValidationError({IDEMPOTENCY_KEY_HEADER: "send 16 to 200 visible ASCII characters other than "
                                                       "quotes and backslashes, random for each drawing"})
    return match["key"]


def sent_before(idempotency_key: str | None) -> tuple[Prediction | None, str | None]:
    """The record an idempotency key (`idempotency_key_sent`) made, holding its secret, and the key a new record
    is to be made with when there is none: None past IDEMPOTENCY_KEY_LIFETIME, whose request makes a record
    under a random secret."""
    if idempotency_key is None:
        return None, None
    secret, secret_hash = new_secret(idempotency_key)
    # Nearly every key is new: asked for two columns only, the look-up costs half of a row's.
    found = Prediction.objects.with_secret(secret_hash).values_list("pk", "created_at").first()
    if found is None:
        return None, idempotency_key
    if found[1] < timezone.now() - IDEMPOTENCY_KEY_LIFETIME:
        return None, None
    stored = Prediction.objects.select_related("model_version").filter(pk=found[0]).first()
    if stored is None:   # deleted a moment ago: the key names nothing now
        return None, idempotency_key
    stored.secret = secret
    return stored, idempotency_key


def hash_secret(secret: str) -> str:
    # The secret has 256 random bits, so one fast hash keeps it safe if the database leaks.
    return hashlib.sha256(secret.encode()).hexdigest()


def is_staff_with(request, permission: str) -> bool:
    """Whether the request's user is active staff with `permission` on predictions; the right to change them
    includes viewing them, as in Django's admin (staff who could label in the admin and the queue were
    refused the dashboard and the API's listing)."""
    user = request.user
    granted = (permission, "change") if permission == "view" else (permission,)
    return user.is_active and user.is_staff and any(user.has_perm(f"recognizer.{name}_prediction") for name in granted)


def may_list(request) -> bool:
    return is_staff_with(request, "view")


def accessible(request, predictions: QuerySet) -> QuerySet:
    """The predictions this request may act on with its method."""
    if is_staff_with(request, _PERMISSIONS.get(request.method, "change")):
        return predictions
    secret = request.headers.get(SECRET_HEADER)
    if not secret:
        return predictions.none()
    return predictions.filter(secret_hash=hash_secret(secret))


def drawing_url(name: str, request=None) -> str:
    """The drawing file's URL: for staff who may view drawings, plain, their session checked at each fetch;
    for anyone else, with a signature that expires after DRAWING_URL_MAX_AGE seconds. (Signed for a reviewer
    too, the URLs of every drawing a listing showed kept working for an hour after their permission went.)"""
    url = reverse("drawing", args=[name])
    if request is not None and is_staff_with(request, "view"):
        return url
    token = _signer().sign(name).removeprefix(f"{name}:")
    return f"{url}?{urlencode({SIGNATURE_PARAMETER: token})}"


def may_see_drawing(request, name: str) -> bool:
    if is_staff_with(request, "view"):
        return True
    token = request.GET.get(SIGNATURE_PARAMETER, "")
    try:
        _signer().unsign(f"{name}:{token}", max_age=settings.DRAWING_URL_MAX_AGE)
    except signing.BadSignature:   # a wrong, tampered or expired signature
        return False
    return True


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SIGNING_SALT)
