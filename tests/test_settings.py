"""Production settings come from the environment and pass Django's deployment checks."""

import os
import runpy
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from recognizer.access import drawing_url

from .reviewing import record_drawing

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "a-production-secret-" + "k" * 50,
              "DJANGO_ALLOWED_HOSTS": "digits.example.org"}


def run(command: list[str], **env) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**environment, **env}, timeout=120)


def manage(*args, **env):
    return run([sys.executable, "manage.py", *args], **env)


def settings_say(code: str, **env) -> str:
    """What `code` prints, with the settings as a process started with `env` reads them: the settings alone, no
    app loaded (`manage.py shell` starts the whole site, 5 s)."""
    return run([sys.executable, "-c", f"from django.conf import settings; {code}"],
               DJANGO_SETTINGS_MODULE="mnistsite.settings", **env).stdout


def test_check_deploy_reports_nothing(tmp_path):
    # Set up as production is: the static files collected with DEBUG off first.
    static = {"DJANGO_STATIC_ROOT": str(tmp_path)}
    assert manage("collectstatic", "--noinput", **PRODUCTION, **static).returncode == 0
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, **static)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_refuses_static_files_collected_with_debug_on(tmp_path):
    """Collected as `make setup` does, the static files have no hashed names, and with DEBUG off every page was a
    500 that no check foresaw."""
    static = {"DJANGO_STATIC_ROOT": str(tmp_path)}
    assert manage("collectstatic", "--noinput", DJANGO_DEBUG="1", **static).returncode == 0
    result = manage("check", "--deploy", **PRODUCTION, **static)
    assert result.returncode != 0 and "recognizer.E001" in result.stderr, result.stdout + result.stderr
    assert "Run `manage.py collectstatic` with DEBUG off" in result.stderr


def test_debug_is_off_unless_asked_for():
    show = "print('DEBUG', settings.DEBUG)"
    assert "DEBUG False" in settings_say(show, DJANGO_SECRET_KEY=PRODUCTION["DJANGO_SECRET_KEY"])
    assert "DEBUG True" in settings_say(show, DJANGO_DEBUG="1")


def test_a_process_starts_without_the_libraries_only_a_reviewer_s_picture_needs():
    """Captum and matplotlib cost every manage.py command, gunicorn worker and test worker a second
    or more at start-up, imported with the admin."""
    show = ("shell", "-c", "import sys, django.contrib.admin; django.contrib.admin.autodiscover(); "
            "print('LOADED', sorted({'captum', 'matplotlib'} & set(sys.modules)))")
    assert "LOADED []" in manage(*show, DJANGO_DEBUG="1").stdout


def test_hsts_reaches_subdomains_and_the_preload_list_unless_told_not_to():
    """Always on: an operator on a shared parent domain could not turn them off."""
    show = "print('HSTS', settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD)"
    assert "HSTS True True" in settings_say(show, **PRODUCTION)
    assert "HSTS False False" in settings_say(show, **PRODUCTION, DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
                                              DJANGO_SECURE_HSTS_PRELOAD="0")


def test_https_is_taken_from_a_forwarded_header_only_behind_a_proxy():
    """With no proxy in front, anyone could send `X-Forwarded-Proto: https` and pass plain HTTP for HTTPS."""
    show = "print('HEADER', settings.SECURE_PROXY_SSL_HEADER)"
    assert "HEADER None" in settings_say(show, **PRODUCTION)
    assert "HEADER ('HTTP_X_FORWARDED_PROTO', 'https')" in settings_say(show, **PRODUCTION, DJANGO_NUM_PROXIES="1")


@pytest.mark.parametrize("proxies, headers", [("0", {}), ("1", {"X-FORWARDED-PROTO": "https"})])
def test_gunicorn_takes_https_from_a_forwarded_header_only_behind_a_proxy(monkeypatch, proxies, headers):
    """gunicorn alone trusted a client on 127.0.0.1 that said `X-Forwarded-Proto: https`."""
    monkeypatch.setenv("DJANGO_NUM_PROXIES", proxies)
    assert runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))["secure_scheme_headers"] == headers


def test_a_request_for_another_host_is_a_400_that_logs_nothing():
    """Anyone can send any Host header: logged with a traceback that repeats it, each was a cheap flood of the log."""
    ask = ("shell", "-c", "from django.test import Client; "
           "print('STATUS', Client().get('/healthz', HTTP_HOST='x' * 4000 + '.example.org').status_code)")
    result = manage(*ask, **PRODUCTION)
    assert "STATUS 400" in result.stdout and "Invalid HTTP_HOST" not in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize("command", [["check"], ["evaluate", "--help"]])
def test_without_debug_the_development_key_is_refused_in_a_sentence(command):
    """Not at the foot of forty lines of traceback."""
    result = manage(*command)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set unless DJANGO_DEBUG=1" in result.stderr
    assert result.stderr.startswith("manage.py: ") and "Traceback" not in result.stderr


@pytest.mark.parametrize("url, refusal", [
    ("mysql://digits:hunter2@db/digits", "does not begin with postgres:// or sqlite:// (mysql)"),
    ("digits:hunter2@db/digits", "does not begin with postgres:// or sqlite:// (no scheme)"),
    ("postgres://digits:hun#ter2@db:5432/digits", "is not a URL"),
    ("sqlite://", "names no SQLite file"),
])
def test_a_database_url_mistaken_is_refused_in_a_sentence_without_its_password(url, refusal):
    """It was forty lines of traceback, or for `sqlite://`, a database in each worker's memory, lost at restart."""
    result = manage("check", DJANGO_DEBUG="1", DATABASE_URL=url)
    assert result.returncode != 0 and result.stderr.startswith("manage.py: DATABASE_URL "), result.stderr
    assert refusal in result.stderr and "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION, "DJANGO_SECRET_KEY": ""}
    result = manage("check", **env)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


def test_a_malformed_boolean_is_refused():
    result = manage("check", DJANGO_DEBUG="maybe")
    assert result.returncode != 0 and "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


@pytest.mark.parametrize("rate", ["120 per minute", "120/fortnight", "120/", "0/minute"])
def test_a_malformed_rate_limit_is_refused_at_start(rate):
    """Read only when a request is limited, a typo failed every API write and every sign-in with a 500."""
    result = manage("check", DJANGO_DEBUG="1", LOGIN_RATE_LIMIT=rate)
    assert result.returncode != 0 and f"LOGIN_RATE_LIMIT={rate!r} is not a rate" in result.stderr


def test_a_missing_model_is_reported_at_start_up(tmp_path):
    # On a database without versions the check looks at what bootstrap_model would serve.
    result = manage("check", DJANGO_DEBUG="1", MNIST_MODEL_PATH=str(tmp_path / "absent.pt"),
                    DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert "recognizer.W001" in result.stderr + result.stdout and "does not exist" in result.stderr + result.stdout


@pytest.mark.parametrize("command", [("train", "--no-register", "--epochs", "1"), ("activate_model", "v1"),
                                     ("compare_regularization", "--epochs", "1", "--train-limit", "10")])
def test_a_command_on_a_database_not_set_up_says_to_migrate(tmp_path, command):
    database = tmp_path / "fresh.sqlite3"
    sqlite3.connect(database).execute("CREATE TABLE unrelated (id INTEGER)").connection.close()
    result = manage(*command, DJANGO_DEBUG="1", DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "is not set up" in result.stderr and "run `manage.py migrate` first" in result.stderr


def test_a_command_on_an_sqlite_file_not_there_leaves_none_behind(tmp_path):
    """Connecting to check the migrations created an empty database where a DATABASE_URL was misspelt."""
    database = tmp_path / "misspelt.sqlite3"
    result = manage("bootstrap_model", DJANGO_DEBUG="1", DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"no database at {database}; run `manage.py migrate` first" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_command_on_an_unreachable_database_says_so():
    """`set_up_database` says it too: tests/test_production.py starts the production stack on one."""
    result = manage("activate_model", "v1", DJANGO_DEBUG="1", DATABASE_URL="postgres://digits@127.0.0.1:9/digits")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "cannot read the database (digits)" in result.stderr


@pytest.mark.django_db
def test_media_is_served_safely(client, settings, isolated_media, mnist_test):
    drawing = record_drawing(mnist_test.images[0]).image.name
    response = client.get(drawing_url(drawing))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    for path in ("/media/drawings/../../etc/passwd", "/media/drawings/2026/11/abc123.html",
                 "/media/secrets.txt", "/media/drawings/%2e%2e/x.png"):
        assert client.get(path).status_code == 404, path


def test_a_serving_process_has_read_a_drawing_before_its_first_request(tmp_path):
    """The first person to draw waited 0.7 s for the URLs', DRF's and SciPy's imports and torch's first pass."""
    database = {"DJANGO_DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    setup = manage("shell", "-c", "from django.core.management import call_command; "
                   "call_command('migrate', verbosity=0); call_command('bootstrap_model', verbosity=0)", **database)
    assert setup.returncode == 0, setup.stderr[-2000:]
    serve = ("shell", "-c", "import sys, torch, mnistsite.wsgi; print('THREADS', torch.get_num_threads()); "
             "print('NOT YET', sorted({'mnistsite.urls', 'recognizer.serializers', 'scipy.ndimage'} - set(sys.modules)))")
    result = manage(*serve, **database, INFERENCE_THREADS="1")
    assert "THREADS 1" in result.stdout and "NOT YET []" in result.stdout, result.stdout + result.stderr[-2000:]
