import ipaddress
import time

from django.conf import settings
from django.db import connection
from rest_framework.throttling import BaseThrottle

from .models import RateWindow

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# An IPv6 client is given a whole /64 (RFC 6177), so it could use a new address per request.
IPV6_CLIENT_PREFIX = 64


class PredictionRateThrottle(BaseThrottle):
    """A fixed-window limit per client on writes (PREDICTION_RATE_LIMIT, DRF's syntax: "60/minute").

    Counts live in the database, one row per client and window, raised by a single upsert:
    every worker and every app server sees the same count, with no read-modify-write race
    and no growing history of timestamps to load and store on each request.
    """

    timer = staticmethod(time.time)

    def allow_request(self, request, view):
        if not settings.PREDICTION_RATE_LIMIT:
            return True
        limit, self.duration = parse_rate(settings.PREDICTION_RATE_LIMIT)
        self.now = self.timer()
        window = int(self.now // self.duration)
        return count_hit(client_ident(self.get_ident(request)), window) <= limit

    def wait(self):
        return self.duration - self.now % self.duration


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


def count_hit(ident: str, window: int) -> int:
    """Add one hit to the client's window and return the window's total."""
    table = RateWindow._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (ident, period, hits) VALUES (%s, %s, 1) "
            f"ON CONFLICT (ident, period) DO UPDATE SET hits = {table}.hits + 1 RETURNING hits",
            [ident[:100], window])
        hits = cursor.fetchone()[0]
        if hits == 1:
            # A client's first hit in a new window: a natural moment to forget finished windows.
            cursor.execute(f"DELETE FROM {table} WHERE period < %s", [window - 1])
    return hits
