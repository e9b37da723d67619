"""The first model version is an explicit setup step: reading never registers one."""

import io
import threading

import pytest
import torch
from django.core.management import CommandError, call_command
from django.db import connection, connections

from mlcore import checkpoint

from recognizer.management.commands.set_up_database import SETUP_LOCK, setting_up_alone

from recognizer.models import ModelVersion
from recognizer.checks import served_model_check
from recognizer.inference import warm_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_database():
    ModelVersion.objects.all().delete()


def test_healthz_on_a_fresh_database_answers_503_and_writes_nothing(client, fresh_database, caplog):
    response = client.get("/healthz")
    # The public answer is generic; the log tells the operator what to run.
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
    assert "bootstrap_model" in caplog.text
    assert not ModelVersion.objects.exists()


def test_bootstrap_registers_and_activates_once(fresh_database, shipped_model_path):
    output = io.StringIO()
    call_command("bootstrap_model", stdout=output)
    version = ModelVersion.objects.get()
    assert version.is_active and version.file_path.resolve() == shipped_model_path.resolve()
    assert f"registered and activated {shipped_model_path.stem}" in output.getvalue()
    output = io.StringIO()
    call_command("bootstrap_model", stdout=output)
    assert list(ModelVersion.objects.all()) == [version]
    assert output.getvalue() == f"{version.name} is already the active model version; nothing to do\n"


def test_bootstrap_activates_the_version_already_registered_for_its_checkpoint(fresh_database, shipped_model_path):
    """It said "registered" of a version it only activated."""
    ModelVersion.objects.register(shipped_model_path)
    output = io.StringIO()
    call_command("bootstrap_model", stdout=output)
    version = ModelVersion.objects.get()
    assert version.is_active
    assert output.getvalue() == f"activated {version.name}, registered before, from {version.file_path}\n"


def test_bootstrap_refuses_a_version_of_its_name_that_serves_another_file(fresh_database, shipped_model_path,
                                                                          tmp_path):
    """A version of the checkpoint's name, registered from another file, was served in its place, unchecked."""
    other = tmp_path / "other.pt"
    other.write_bytes(shipped_model_path.read_bytes())
    ModelVersion.objects.register(other, name=shipped_model_path.stem)
    with pytest.raises(CommandError, match=f"a model version named '{shipped_model_path.stem}' already serves {other}"):
        call_command("bootstrap_model")
    assert not ModelVersion.objects.filter(is_active=True).exists()


def test_bootstrap_refuses_a_registered_version_whose_file_changed(fresh_database, shipped_model_path, tmp_path):
    copy = tmp_path / shipped_model_path.name
    copy.write_bytes(shipped_model_path.read_bytes())
    ModelVersion.objects.register(copy)
    copy.write_bytes(copy.read_bytes() + b"changed")
    with pytest.raises(CommandError, match="changed since version"):
        call_command("bootstrap_model", "--model", str(copy))
    assert not ModelVersion.objects.filter(is_active=True).exists()


def test_bootstrap_of_a_missing_file_is_a_command_error(fresh_database, tmp_path):
    with pytest.raises(CommandError, match=r"absent.pt \(given as --model\) does not exist$"):
        call_command("bootstrap_model", "--model", str(tmp_path / "absent.pt"))
    assert not ModelVersion.objects.exists()


@pytest.mark.parametrize("calibration, value", [({"temperature": 0.0}, "temperature 0.0"),
                                                ({"temperature": -1.1}, "temperature -1.1"),
                                                ({"not_a_digit_threshold": 1.5}, "threshold 1.5"),
                                                ({"not_a_digit_threshold": -0.2}, "threshold -0.2")])
def test_bootstrap_refuses_a_checkpoint_whose_calibration_no_answer_can_be_read_with(fresh_database, shipped_model_path,
                                                                                     tmp_path, calibration, value):
    """Registered and served, it answered every drawing with a 500 (a NaN confidence) while /healthz said ok."""
    model, metadata = checkpoint.load(shipped_model_path)
    path = checkpoint.save(tmp_path / "miscalibrated.pt", model,
                           {**metadata, "calibration": {**metadata["calibration"], **calibration}})
    with pytest.raises(CommandError, match=f"has a calibration no answer can be read with .*{value}"):
        call_command("bootstrap_model", "--model", str(path))
    assert not ModelVersion.objects.exists()


def test_a_missing_mnist_model_path_is_named_as_the_setting(fresh_database, tmp_path, settings):
    settings.MNIST_MODEL_PATH = tmp_path / "absent.pt"
    with pytest.raises(CommandError, match=r"absent.pt \(given as MNIST_MODEL_PATH\) does not exist$"):
        call_command("bootstrap_model")


def test_the_system_check_checks_the_active_version_not_the_configured_path(settings, tmp_path, served_model):
    settings.MNIST_MODEL_PATH = tmp_path / "absent.pt"
    assert served_model_check(None) == []
    ModelVersion.objects.filter(pk=served_model.pk).update(path=str(tmp_path / "gone.pt"))
    (warning,) = served_model_check(None)
    assert warning.id == "recognizer.W001" and f"active version '{served_model.name}'" in warning.msg
    # bootstrap_model does nothing while a version is active: the hint named it all the same.
    assert "activate_model" in warning.hint and "bootstrap_model" not in warning.hint


@pytest.mark.django_db(transaction=True)
def test_a_server_bootstrapping_beside_another_serves_the_version_that_one_registered(shipped_model_path,
                                                                                       monkeypatch):
    """Two app servers started together on one database: the second's registration clashes with the
    first's, which has not activated the version yet. The second activates it, where it raised
    DoesNotExist."""
    ModelVersion.objects.all().delete()
    register = ModelVersion.objects.register

    def registered_by_the_other_server_meanwhile(path, **options):
        register(path)
        return register(path, **options)

    monkeypatch.setattr(ModelVersion.objects, "register", registered_by_the_other_server_meanwhile)
    version, registered, activated = ModelVersion.objects.bootstrap(shipped_model_path)
    assert version.is_active and not registered and activated and list(ModelVersion.objects.all()) == [version]


@pytest.fixture
def three_torch_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield
    torch.set_num_threads(before)


def test_the_system_check_leaves_a_commands_threads_alone(served_model, three_torch_threads):
    """The check loads the served model; every command used to run on one thread after it."""
    assert served_model_check(None) == []
    assert torch.get_num_threads() == 3


def test_a_serving_process_reads_on_the_inference_threads(settings, served_model, three_torch_threads):
    settings.INFERENCE_THREADS = 1
    warm_up()
    assert torch.get_num_threads() == 1


@pytest.mark.django_db(transaction=True)
def test_servers_starting_at_once_set_the_database_up_one_at_a_time():
    """Two servers migrating a fresh PostgreSQL database at the same moment raced: one stopped. One that
    waits says so (it printed nothing)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite is one machine's: one server sets it up")
    inside, said = threading.Event(), []

    def another_server():
        with setting_up_alone(said.append):
            inside.set()
        connections.close_all()

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [SETUP_LOCK])
    starting = threading.Thread(target=another_server)
    starting.start()
    try:
        assert not inside.wait(1.0)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SETUP_LOCK])
    assert inside.wait(10.0)
    starting.join(10.0)
    assert said == ["another server is setting the database up; waiting for it"]
