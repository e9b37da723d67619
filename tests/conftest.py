"""Shared fixtures: the real MNIST files, the shipped model and its predictor, and an isolated media directory."""

import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from PIL import ImageFont

from mlcore.mnist import load_split
from mlcore.predict import Predictor

DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
                     "live_server"}


def pytest_addoption(parser):
    parser.addoption("--database-tests-only", action="store_true",
                     help="run only the tests that use the database (for a second database engine)")


def pytest_collection_modifyitems(config, items):
    """On a second engine, the tests that never touch the database would only repeat themselves."""
    if not config.getoption("--database-tests-only"):
        return
    selected, deselected = [], []
    for item in items:
        uses_database = item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(item.fixturenames)
        (selected if uses_database else deselected).append(item)
    config.hook.pytest_deselected(items=deselected)
    items[:] = selected


@pytest.fixture(scope="session", autouse=True)
def live_server_requests_finish():
    """The live server answers in daemon threads. One still computing a drawing's saliency when the tests
    ended was cut off inside PyTorch as the interpreter exited, which aborted the process ("terminate called
    without an active exception"): a run whose tests all passed exited 134. Torn down last, once the
    browser has closed its connections, this waits for them (bounded)."""
    yield
    deadline = time.monotonic() + 30
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    path = Path(settings.MNIST_DATA_DIR)
    if not any(path.glob("t10k-images-idx3-ubyte*")):
        pytest.fail(f"MNIST files not found in {path}; set MNIST_DATA_DIR (the README says how)")
    return path


@pytest.fixture(scope="session")
def mnist_test(mnist_dir):
    return load_split(mnist_dir, "test")


@pytest.fixture(scope="session")
def mnist_train(mnist_dir):
    return load_split(mnist_dir, "train")


@pytest.fixture(scope="session")
def shipped_model_path() -> Path:
    return Path(settings.MNIST_MODEL_PATH)


@pytest.fixture(scope="module")
def predictor(shipped_model_path):
    """The served checkpoint, with its "not a digit" output, loaded once for each module of tests."""
    return Predictor.from_checkpoint(shipped_model_path)


@pytest.fixture(scope="session")
def font_dir(tmp_path_factory) -> Path:
    """A directory holding one font: Pillow's own sans serif (Aileron), written out as a file."""
    directory = tmp_path_factory.mktemp("fonts")
    (directory / "aileron.ttf").write_bytes(ImageFont.load_default(size=40).font_bytes)
    return directory


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite tests on a file rather than in memory: then the live server's threads, answering a page's
    parallel requests, wait on the busy timeout as in production instead of failing with "table is locked"."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("database") / "test.sqlite3")


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    """Every test writes drawings into its own directory, so file assertions are exact."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def quick_release_gate(settings):
    """Every activation passes the release gate, and every trained model is calibrated; on samples of 300
    each takes seconds, not minutes."""
    settings.RELEASE_GATE_LIMIT = 300
    settings.CALIBRATION_DRAWINGS = 300


@pytest.fixture(autouse=True)
def served_model(request):
    """What `make setup` does on a fresh database (`manage.py bootstrap_model`): the shipped model is active.

    Tests of a database that has none delete it themselves."""
    if request.node.get_closest_marker("django_db") is None:
        return None
    request.getfixturevalue("_django_db_marker")
    from recognizer.models import ModelVersion
    return ModelVersion.objects.bootstrap(settings.MNIST_MODEL_PATH)[0]
