"""gunicorn settings; each can be overridden by the environment or on the command line.

In production gunicorn runs behind nginx (deploy/production.py, `make production`), which
reads each request whole before passing it on; on its own (`make gunicorn`) it is exposed to
slow clients, each of which holds a worker for as long as it likes.
"""

import os
import sys


def env_int(name: str, default: int) -> int:
    """An integer setting, read as mnistsite.settings reads one (importing the settings here would set up
    Django in gunicorn's master): a typo stops gunicorn with one line naming the variable, not a traceback."""
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        sys.exit(f"{name} must be an integer")


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Threaded workers keep connections alive, which saves a TCP handshake per prediction for the
# page and API clients. One thread each: a request is CPU-bound work under the GIL. Twice as
# many workers as cores, so that clients holding connections to a busy worker are not stuck
# while a core is idle.
worker_class = "gthread"
threads = 1
keepalive = 5
# gunicorn reads WEB_CONCURRENCY itself, and a typo stops it before this file is read (`make production` checks
# the variable first); this sets the default where it is not given.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1)))
# Each worker imports mnistsite.wsgi itself and loads the model once; no preload, since
# forking after torch has started its thread pool is unsafe.
preload_app = False
timeout = 30
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# Paths without their query strings or Referers: a drawing's signed URL (/media/...?signature=...)
# shows the drawing to whoever reads it. nginx's log has the rest.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
errorlog = "-"
# Nothing uses gunicornc, and its default socket in the home directory would be shared by every
# gunicorn this user runs.
control_socket_disable = True
# Behind nginx the peer is a Unix socket, which gunicorn trusts with every scheme and forwarding
# header it knows; only X-Forwarded-Proto, which nginx sets itself, is meant to be read. With no
# proxy in front (DJANGO_NUM_PROXIES 0, as Django's settings read it) none is: gunicorn trusts a
# client on 127.0.0.1 too, which could pass plain HTTP for HTTPS.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"} if env_int("DJANGO_NUM_PROXIES", 0) else {}
forwarder_headers = ""
