import contextlib
import ipaddress
import math
import time
from collections.abc import Iterator, Mapping
from typing import Callable

from django.conf import settings
from django.db import connection
from django.db.models import F
from rest_framework.throttling import BaseThrottle

from .models import Prediction, RateWindow

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# An IPv6 client is given a whole /64 (RFC 6177), so it could use a new address per request.
IPV6_CLIENT_PREFIX = 64
IDENT_LENGTH = RateWindow._meta.get_field("ident").max_length
# Windows are forgotten this long after they end by the clock of the server that forgets them: another app
# server whose clock is behind may still be counting in one (a server 20 s ahead deleted the windows the
# others were counting in, and one client made three times the per-minute limit between two servers).
ENDED_WINDOWS_KEPT = 300
# IMAGE_RATE_LIMIT is sized on uploads whose reading costs up to this much CPU, as a photo's does; one that costs more
# counts once more for each such share past the first. A screenshot of a grid of four photos, each cut out and read
# every way, cost 1.3 to 1.5 s: thirty a minute kept most of a core busy again, as photos did before the limit.
IMAGE_READING_SECONDS = 0.35


class FixedWindowLimit:
    """A limit per client in fixed windows of time (a rate in DRF's syntax: "60/minute").

    Counts live in the database, one row per client and window, raised by a single upsert:
    every worker and every app server sees the same count, with no read-modify-write race
    and no growing history of timestamps to load and store on each request.
    """

    timer = staticmethod(time.time)

    def __init__(self, rate: str, kind: str = ""):
        self.limit, self.duration = parse_rate(rate)
        self.kind = kind   # a prefix, so that limits of other kinds count apart

    def hit(self, address: str | None, count: int = 1) -> bool:
        """Count one request (or `count`) from this address; whether it is within the limit."""
        self.now = self.timer()
        self.ident = self.kind + client_ident(address)
        return count_hit(self.ident, self.window_end(), self.now, count) <= self.limit

    def take_back(self) -> None:
        """Uncount the last `hit`: what it counted was not made after all."""
        RateWindow.objects.filter(ident=self.ident[:IDENT_LENGTH], window_end=self.window_end(), hits__gt=0).update(
            hits=F("hits") - 1)

    def spent(self, address: str | None) -> bool:
        """Whether this address has used up the limit in this window; counts nothing."""
        self.now = self.timer()
        hits = RateWindow.objects.filter(ident=(self.kind + client_ident(address))[:IDENT_LENGTH],
                                         window_end=self.window_end()).values_list("hits", flat=True).first()
        return (hits or 0) >= self.limit

    def window_end(self) -> int:
        return (int(self.now // self.duration) + 1) * self.duration

    def wait(self) -> float:
        """Seconds until the window of the last hit ends."""
        return self.duration - self.now % self.duration


class SettingRateThrottle(BaseThrottle):
    """The limit a setting names (empty: none), per client, counted apart from other kinds."""

    setting = ""
    kind = ""

    def allow_request(self, request, view):
        self.window = self.limit()
        return self.window is None or self.window.hit(self.get_ident(request))

    def limit(self) -> FixedWindowLimit | None:
        rate = getattr(settings, self.setting)
        return FixedWindowLimit(rate, kind=self.kind) if rate else None

    def wait(self):
        return self.window.wait()


class PredictionRateThrottle(SettingRateThrottle):
    """PREDICTION_RATE_LIMIT on the API's writes."""

    setting = "PREDICTION_RATE_LIMIT"


class ImageRateThrottle(SettingRateThrottle):
    """IMAGE_RATE_LIMIT on the writes that send an image (`image`, in a new drawing or an update): reading one
    costs many times what strokes cost. Counted as the request is read, bad images too: their decoding is spent;
    and once more for each IMAGE_READING_SECONDS of CPU its reading took past the first (`reading`)."""

    setting = "IMAGE_RATE_LIMIT"
    kind = "image "
    clock = staticmethod(time.thread_time)

    def allow_request(self, request, view):
        return not sends_image(request, view) or super().allow_request(request, view)

    @contextlib.contextmanager
    def reading(self, request, view) -> Iterator[None]:
        """Charges the CPU the drawing's reading takes inside the block, refused or not, against the limit."""
        started = self.clock()
        try:
            yield
        finally:
            extra = int((self.clock() - started) // IMAGE_READING_SECONDS)
            window = self.limit()
            if extra and window is not None and sends_image(request, view):
                window.hit(self.get_ident(request), extra)


def sends_image(request, view) -> bool:
    # Only a drawing's body is read here: a DELETE's, or feedback's, is none of this limit's business, and a
    # DELETE whose body was no JSON was refused.
    return (getattr(view, "action", None) in ("create", "update") and isinstance(request.data, Mapping)
            and "image" in request.data)


class NewDrawingsThrottle(SettingRateThrottle):
    """NEW_DRAWINGS_LIMIT on the drawings a client creates: each is a file kept until it is deleted,
    while an update replaces its drawing's file.

    Only drawings count: a client that has spent its limit is refused before its request is read
    (`refuse_if_spent`: one past it costs no decoding), and a valid request is counted as it makes
    its record (`made`), the count taken back where storing it fails (a 503 past the deadline) or
    finds the record a same-keyed try made meanwhile. A request refused by another limit, a bad one
    or a try sent again makes no file, and does not lock its client out for the day."""

    setting = "NEW_DRAWINGS_LIMIT"
    kind = "new "

    def refuse_if_spent(self, request, view) -> None:
        """429 where the client has used up the day's drawings; counts nothing."""
        self.window = self.limit()
        if self.window is not None and self.window.spent(self.get_ident(request)):
            view.throttled(request, self.wait())

    def made(self, request, view, make: Callable[[], Prediction]) -> Prediction:
        """The prediction `make()` stores, counted against the limit (429 past it) where it is `created`."""
        if not self.allow_request(request, view):
            view.throttled(request, self.wait())
        try:
            record = make()
        except BaseException:
            self.take_back()
            raise
        if not record.created:
            self.take_back()
        return record

    def take_back(self) -> None:
        if self.window is not None:
            self.window.take_back()


def login_attempt_allowed(request) -> tuple[bool, float]:
    """LOGIN_RATE_LIMIT on sign-in attempts, per client: whether this one may go on, and the seconds to
    wait when it may not. Staff passwords are otherwise open to guessing at the server's full speed."""
    if not settings.LOGIN_RATE_LIMIT:
        return True, 0.0
    window = FixedWindowLimit(settings.LOGIN_RATE_LIMIT, kind="login ")
    # DRF's reading of the client's address, as for the API's writes: behind nginx, the address nginx saw.
    return window.hit(BaseThrottle().get_ident(request)), window.wait()


def in_words(seconds: float) -> str:
    """A wait as a person says it: "40 seconds", "12 minutes", "22 hours"."""
    for unit, length in (("hour", 3600), ("minute", 60)):
        if seconds >= 1.5 * length:
            count = round(seconds / length)
            return f"{count} {unit}s"
    count = max(1, math.ceil(seconds))
    return f"{count} second{'s' if count != 1 else ''}"


def parse_rate(rate: str) -> tuple[int, int]:
    """("60/minute") -> (60 requests, 60 seconds), as DRF reads rates."""
    count, period = rate.split("/")
    return int(count), PERIODS[period[0]]


def client_ident(address: str | None) -> str:
    """The unit the limit counts: an IPv4 address, or the /64 network of an IPv6 one."""
    # A WSGI server always gives REMOTE_ADDR; other callers may not, and still count as one client.
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False))


def count_hit(ident: str, window_end: int, now: float, count: int = 1) -> int:
    """Add `count` hits to the client's window, which ends at `window_end` (seconds since the epoch), and
    return the window's total."""
    table, end = RateWindow._meta.db_table, RateWindow._meta.get_field("window_end").column
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (ident, {end}, hits) VALUES (%s, %s, %s) "
            f"ON CONFLICT (ident, {end}) DO UPDATE SET hits = {table}.hits + %s RETURNING hits",
            [ident[:IDENT_LENGTH], window_end, count, count])
        hits = cursor.fetchone()[0]
        if hits == count:
            # A client's first hit in a new window: a natural moment to forget the windows that have
            # ended, whatever their length.
            cursor.execute(f"DELETE FROM {table} WHERE {end} <= %s", [int(now) - ENDED_WINDOWS_KEPT])
    return hits
