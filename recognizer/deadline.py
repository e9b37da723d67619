"""When a write's answer can no longer reach its client: past that moment, nothing is stored.

nginx gives up on gunicorn after `proxy_read_timeout` (30 s, deploy/nginx.conf) and answers 503,
but the worker goes on. Were it to store the drawing then, a record would exist that its drawer was
never told of (the owner secret is only ever in the answer), and the page's retry would store it
twice. nginx stamps each request with the moment it arrived, so time spent queued for a busy
worker counts too; without nginx, the moment the request reached Django is the start.
"""

from __future__ import annotations

import math
import time

from django.conf import settings

# Set by nginx (`t=` and seconds since the epoch, to the millisecond), over any value a client sends.
HEADER = "X-Request-Start"
META_KEY = "HTTP_" + HEADER.upper().replace("-", "_")


class TooLate(Exception):
    """The client has stopped waiting for this answer."""


def deadline_of(request) -> float:
    """When the client stops waiting, in seconds since the epoch. The stamp is nginx's only behind a proxy
    (NUM_PROXIES): without one it is the client's own, and an old one had the site do all the work and then
    answer "too busy". A stamp from the future is the present: a client cannot give itself longer."""
    now = time.time()
    arrival = stamped_arrival(proxy_stamp(request.META) or "")
    return min(now if arrival is None else arrival, now) + settings.REQUEST_DEADLINE_SECONDS


def proxy_stamp(meta) -> str | None:
    """nginx's stamp from a request's META (its WSGI environ), or None: without a proxy in front (NUM_PROXIES 0),
    a stamp is the client's own."""
    return meta.get(META_KEY) if settings.NUM_PROXIES else None


def stamped_arrival(stamp: str) -> float | None:
    try:
        arrival = float(stamp.removeprefix("t="))
    except ValueError:
        return None
    return arrival if math.isfinite(arrival) else None


def check(deadline: float | None) -> None:
    """TooLate when the deadline has passed; None is no deadline (a command, a test)."""
    if deadline is not None and time.time() > deadline:
        raise TooLate
