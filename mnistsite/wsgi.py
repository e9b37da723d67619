"""WSGI entry point; gunicorn imports `application` once per worker."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")

application = get_wsgi_application()

# Each worker loads its model before its first request, not during one.
from recognizer.inference import warm_up  # noqa: E402 - needs the app registry loaded above
from recognizer.middleware import with_readable_content_type  # noqa: E402

application = with_readable_content_type(application)
warm_up()
