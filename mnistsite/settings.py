"""Settings for the digit-recognition site, read from the environment.

Defaults are safe for the open internet: DEBUG is off unless DJANGO_DEBUG=1, and with DEBUG off
DJANGO_SECRET_KEY must be set. Development (`make serve`, the tests) sets DJANGO_DEBUG=1, which
allows the development key. Production sets DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS;
`manage.py check --deploy` then passes without warnings.
"""

import os
import re
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from mnistsite import logs

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use 1 or 0")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer") from None


def env_rate(name: str, default: str) -> str | None:
    """A rate limit in DRF's syntax ("120/minute"), or None where it is set empty (no limit). Read
    here, so that a typo stops the server at start rather than failing every request it limits."""
    rate = os.environ.get(name, default)
    if not rate:
        return None
    count, _, period = rate.partition("/")
    if not (count.isdigit() and int(count) > 0 and period[:1] in ("s", "m", "h", "d")):
        raise ImproperlyConfigured(f"{name}={rate!r} is not a rate: give a number of requests per second, "
                                   f"minute, hour or day, such as {default!r}, or leave it empty for no limit")
    return rate


# The drivers requirements.txt installs: another scheme failed at the first query, deep in a traceback.
DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql", "sqlite")


def env_database(default: str) -> dict:
    """DATABASE_URL, unset or empty for `default`, as Django's settings. A refusal names the scheme alone:
    the URL holds the database's password."""
    url = os.environ.get("DATABASE_URL") or default
    scheme = url.partition("://")[0] if "://" in url else ""
    named = scheme if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,19}", scheme) else "no scheme"
    usage = "give postgres://user:password@host:port/name, or sqlite:///path/to/db.sqlite3, or leave it unset"
    if scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(f"DATABASE_URL does not begin with postgres:// or sqlite:// ({named}); "
                                   + usage)
    try:
        database = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
    except ValueError:
        raise ImproperlyConfigured(f"DATABASE_URL is not a URL (a port not a number, or a character in the "
                                   f"password to percent-encode); {usage}") from None
    # Each worker process would keep its own, and every drawing's record would go with it.
    if scheme == "sqlite" and database["NAME"] == ":memory:":
        raise ImproperlyConfigured(f"DATABASE_URL names no SQLite file; {usage}")
    return database


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set unless DJANGO_DEBUG=1; generate one with "
                                   "python -c 'import secrets; print(secrets.token_urlsafe(50))'")
    SECRET_KEY = "development-only-key-never-used-with-debug-off-0123456789abcdefghij"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
CSRF_FAILURE_VIEW = "recognizer.errors.csrf_failure"
# Staff sign in on the admin's page; a `next` that leaves the site is dropped for the admin's index, not a 404.
LOGIN_REDIRECT_URL = "admin:index"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "recognizer",
]

MIDDLEWARE = [
    "recognizer.middleware.reading_the_whole_body",
    "django.middleware.security.SecurityMiddleware",
    # Outside RequestGuardMiddleware: its own refusals (a body too large, a charset) are framed by no one either.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "recognizer.middleware.permissions_policy",
    "recognizer.middleware.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "mnistsite.urls"
WSGI_APPLICATION = "mnistsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default; DATABASE_URL=postgres://... for several app servers.
DATABASES = {"default": env_database(f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and one writer work at once; IMMEDIATE transactions plus a busy
    # timeout make concurrent writers queue instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "mnistsite.storage.StaticFilesStorage"},
}

MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The model and its data.
MNIST_MODEL_PATH = Path(os.environ.get("MNIST_MODEL_PATH", BASE_DIR / "models" / "mnist_cnn_v4x2.pt"))
MNIST_DATA_DIR = Path(os.environ.get("MNIST_DATA_DIR", BASE_DIR / "data" / "mnist"))
MODELS_DIR = Path(os.environ.get("MNIST_MODELS_DIR", BASE_DIR / "models"))
# What the commands write: their reports, and the generated drawings they train and calibrate on, which
# take minutes to draw and are kept between runs (the cache).
REPORTS_DIR = BASE_DIR / "reports"
GENERATED_CACHE_DIR = REPORTS_DIR / "cache"
# One image at a time is fastest on one thread; gunicorn's workers use the other cores.
INFERENCE_THREADS = env_int("INFERENCE_THREADS", 1)

# The review queue (README, "The review queue"): how long a reviewer holds a drawing without renewing, how
# long a drawing must be left unchanged before the queue shows it (a drawer adds strokes for a few seconds,
# each changing the record), and which share of labelled drawings another reviewer labels again.
REVIEW_LEASE_SECONDS = env_int("REVIEW_LEASE_SECONDS", 60)
REVIEW_SETTLE_SECONDS = env_int("REVIEW_SETTLE_SECONDS", 30)
REVIEW_SECOND_OPINION_PERCENT = env_int("REVIEW_SECOND_OPINION_PERCENT", 5)
# The release gate compares on the whole MNIST test set and 1,000 drawn digits and non-digits; a number
# here caps every set (quicker, coarser).
RELEASE_GATE_LIMIT = env_int("RELEASE_GATE_LIMIT", 0) or None
# Real writers outside MNIST for the gate too: an optdigits file (README, "Other hands"). None ships, so
# none by default; given one, every candidate is also compared on its digits.
RELEASE_GATE_OPTDIGITS = (Path(os.environ["RELEASE_GATE_OPTDIGITS"]) if os.environ.get("RELEASE_GATE_OPTDIGITS")
                          else None)
# `train` calibrates on the held-out slice: this many of its drawings of each kind (re-drawn, styled,
# non-digits), all of them (5,000) by default; fewer is quicker and the threshold coarser.
CALIBRATION_DRAWINGS = env_int("CALIBRATION_DRAWINGS", 0) or None

# Limits on what a client may send. The rate is per client address, in DRF's syntax. The page
# sends each drawing again as each stroke ends, so a quick hand writing several digits a minute
# makes about two writes a second at its fastest.
PREDICTION_RATE_LIMIT = env_rate("PREDICTION_RATE_LIMIT", "120/minute")  # empty: no limit
# Writes that send an image, per client address: reading a photo costs up to 350 ms of CPU where strokes cost
# at most 80, so at PREDICTION_RATE_LIMIT alone one address could keep most of a core busy (41 CPU-seconds a
# minute, an audit measured). A person uploads a photo or two a minute; the page sends its drawings as strokes.
IMAGE_RATE_LIMIT = env_rate("IMAGE_RATE_LIMIT", "30/minute")  # empty: no limit
# New drawings per client address: each is a file of at most STORED_MAX_BYTES (recognizer/imaging.py)
# kept until it is deleted, so this bounds the disk one address can fill in a day.
NEW_DRAWINGS_LIMIT = env_rate("NEW_DRAWINGS_LIMIT", "5000/day")  # empty: no limit
# Sign-in attempts (the admin's and the review page's login) per client address, counted in the database.
LOGIN_RATE_LIMIT = env_rate("LOGIN_RATE_LIMIT", "20/hour")
# A body sent to the API: room for the largest image sent as base64 in JSON, which is a third larger.
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 14 * 1024 * 1024)
# A write that would be stored later than this after nginx received it is refused with a 503 and
# stores nothing: nginx stops waiting at 30 s (recognizer/deadline.py).
REQUEST_DEADLINE_SECONDS = env_int("REQUEST_DEADLINE_SECONDS", 25)
# A phone's photo as the camera wrote it: 12 to 50 megapixels, 3 to 10 MB.
MAX_IMAGE_BYTES = env_int("MAX_IMAGE_BYTES", 10 * 1024 * 1024)
# Every other body: the admin's and the review pages' forms and JSON, a few kilobytes. Django
# parses a form before any view or throttle runs, about a second of CPU per megabyte of "%";
# recognizer.middleware refuses a larger one before that.
MAX_FORM_BYTES = env_int("MAX_FORM_BYTES", 64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
# The admin's dataset export is built in a web worker's memory; `manage.py export_reviewed` has no cap.
ADMIN_EXPORT_MAX_ROWS = env_int("ADMIN_EXPORT_MAX_ROWS", 20_000)
# How long a drawing's signed URL (the API's image_url) stays valid, in seconds.
DRAWING_URL_MAX_AGE = env_int("DRAWING_URL_MAX_AGE", 3600)
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES

# The proxies in front (nginx: 1). With none, the client is REMOTE_ADDR, and neither a forged
# X-Forwarded-For dodges the rate limit nor a forged X-Forwarded-Proto passes plain HTTP for HTTPS.
NUM_PROXIES = env_int("DJANGO_NUM_PROXIES", 0)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 "rest_framework.renderers.BrowsableAPIRenderer"],
    "EXCEPTION_HANDLER": "recognizer.views.api_exception_handler",
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Handwritten digit recognition API",
    "DESCRIPTION": "Send a drawing of one digit, get the digit, its confidence and all ten probabilities.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the installed sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Production hardening: on whenever DEBUG is off.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# No other site sees in a Referer which page, or which drawing's signed URL, linked to it.
SECURE_REFERRER_POLICY = "same-origin"
# Every page's scripts and styles are files of its own origin: an injected <script>, inline
# handler or style attribute does not run. The one inline style, the browsable API's code style,
# carries the request's nonce. data: images are the admin's and the review queue's pictures of the
# model's 28x28 input.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# The photo button may open the camera; nothing else is asked for, and no other site's frame may ask.
PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # Load balancers probe health over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    if NUM_PROXIES:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    # On a shared parent domain, its other hosts may not all speak HTTPS: both may be turned off.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"without_traceback": {"()": "mnistsite.logs.WithoutTraceback"}},
    "formatters": {"named": {"format": "{name}: {message}", "style": "{"},
                   "traceback_once_per_minute": {"()": "mnistsite.logs.TracebackOncePerMinute"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "traceback_once_per_minute"},
                 "none": {"class": "logging.NullHandler"},
                 "one_line": {"class": "logging.StreamHandler", "filters": ["without_traceback"],
                              "formatter": "named"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # What a stranger's request alone can make Django refuse as suspicious; a suspicious file
        # operation, which would be the site's own bug, keeps its traceback.
        **{f"django.security.{refusal}": {"handlers": ["one_line"], "propagate": False}
           for refusal in logs.REQUEST_REFUSALS},
        # Anyone can send a wrong Host header, each logged with a line that repeats it: a cheap flood of
        # the log. The 400 answers it; ALLOWED_HOSTS says what is served.
        "django.security.DisallowedHost": {"handlers": ["none"], "propagate": False},
    },
}
