from django.conf import settings
from django.db import connection
from rest_framework.throttling import SimpleRateThrottle

from .models import RateWindow


class PredictionRateThrottle(SimpleRateThrottle):
    """A fixed-window limit per client address on new predictions (PREDICTION_RATE_LIMIT).

    Counts live in the database, one row per client and window, raised by a single upsert:
    every worker and every app server sees the same count, with no read-modify-write race
    and no growing history of timestamps to load and store on each request.
    """

    scope = "predictions"

    def get_rate(self):
        return settings.PREDICTION_RATE_LIMIT

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        # A WSGI server always gives REMOTE_ADDR; other callers may not, and still count as one client.
        ident = self.get_ident(request) or "unknown"
        return count_hit(ident, window) <= self.num_requests

    def wait(self):
        return max(0.0, self.window_end - self.now)


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
