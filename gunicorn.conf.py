"""gunicorn settings; every value can be overridden on the command line or by the environment."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Each worker imports mnistsite.wsgi itself and loads the model once; no preload, since
# forking after torch has started its thread pool is unsafe.
preload_app = False
timeout = 30
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
