"""Model versions: registering, activating, switching while the server runs, refusing a broken checkpoint."""

import base64
import io
import json
import logging
import urllib.request

import pytest
import torch
from django.core.management import CommandError, call_command

from mlcore import checkpoint
from recognizer import inference
from recognizer.inference import active_version, model_cache
from recognizer.models import ModelVersion

from .drawings import png
from .networks import output_layers


def activate(name: str) -> str:
    """Switch versions past the release gate: these tests are about switching (test_release.py tests the gate)."""
    output = io.StringIO()
    call_command("activate_model", name, "--force", stdout=output)
    return output.getvalue()


@pytest.fixture
def two_versions(tmp_path, shipped_model_path):
    """The shipped model as `first` (active), and `second`: the same model with its logits halved.

    Halving the logits keeps every predicted digit, and so the recorded accuracy, true, while every
    probability changes: which model answered shows in the numbers."""
    first_path = tmp_path / "first.pt"
    first_path.write_bytes(shipped_model_path.read_bytes())
    model, metadata = checkpoint.load(shipped_model_path)
    with torch.no_grad():
        for layer in output_layers(model):
            layer.weight.mul_(0.5)
            layer.bias.mul_(0.5)
    second_path = checkpoint.save(tmp_path / "second.pt", model, metadata)
    return (ModelVersion.objects.register(first_path, name="first", activate=True),
            ModelVersion.objects.register(second_path, name="second"))


@pytest.mark.django_db
def test_a_checkpoint_whose_name_is_no_slug_is_not_registered(tmp_path, shipped_model_path, mnist_dir):
    """A version's name shows in the admin and in URLs: activate_model and train take only what its field holds."""
    odd = tmp_path / "<img src=x onerror=alert(1)>.pt"
    odd.write_bytes(shipped_model_path.read_bytes())
    before = ModelVersion.objects.count()
    with pytest.raises(CommandError, match="cannot name a model version"):
        call_command("activate_model", str(odd), stdout=io.StringIO())
    with pytest.raises(CommandError, match="cannot name a model version"):
        call_command("train", "--epochs", "1", "--train-limit", "100", "--data-dir", str(mnist_dir),
                     "--out", str(tmp_path / "fine.pt"), "--name", "a name", stdout=io.StringIO())
    assert ModelVersion.objects.count() == before and not (tmp_path / "fine.pt").exists()


@pytest.mark.django_db
def test_register_records_the_checkpoint_and_activate_switches(two_versions, shipped_model_path):
    first, second = two_versions
    assert (first.params, first.sha256) == (second.params, checkpoint.file_sha256(shipped_model_path))
    assert second.sha256 != first.sha256 and not second.is_active
    assert model_cache.current().version == first

    assert "activated second" in activate("second")
    assert list(ModelVersion.objects.filter(is_active=True)) == [second]
    assert active_version() == second
    active = model_cache.current()
    assert active.version == second
    assert all(torch.equal(served.bias, saved.bias) for served, saved in
               zip(output_layers(active.predictor.model), output_layers(checkpoint.load(second.file_path)[0]),
                   strict=True))

    assert "already the active" in activate("second")
    activate("first")
    assert list(ModelVersion.objects.filter(is_active=True)) == [first]


@pytest.mark.django_db
def test_a_checkpoint_path_is_registered_then_activated(tmp_path, shipped_model_path):
    """An upgrade ships a new checkpoint to a database that already serves an older one."""
    shipped = ModelVersion.objects.active()
    upgrade = tmp_path / "upgrade.pt"
    upgrade.write_bytes(shipped_model_path.read_bytes())
    output = activate(str(upgrade))
    assert "registered upgrade" in output and "activated upgrade" in output
    assert ModelVersion.objects.active().name == "upgrade" and not ModelVersion.objects.get(pk=shipped.pk).is_active
    # Again: the version registered before is found, not registered twice.
    activate(shipped.name)
    assert "activated upgrade" in activate(str(upgrade)) and ModelVersion.objects.filter(name="upgrade").count() == 1


@pytest.mark.django_db
def test_a_checkpoint_path_under_a_taken_name_or_unreadable_is_refused(tmp_path, shipped_model_path):
    shipped = ModelVersion.objects.active()
    elsewhere = tmp_path / f"{shipped.name}.pt"
    elsewhere.write_bytes(shipped_model_path.read_bytes())
    with pytest.raises(CommandError, match=f"a model version named '{shipped.name}' already serves"):
        activate(str(elsewhere))
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(CommandError, match="cannot register .*broken.pt"):
        activate(str(broken))
    assert ModelVersion.objects.active() == shipped and not ModelVersion.objects.filter(name="broken").exists()


@pytest.mark.django_db
def test_an_unknown_name_is_refused_with_the_known_names(two_versions, shipped_model_path):
    with pytest.raises(CommandError, match=rf"no model version named 'third'; known versions: first, "
                                           rf"{shipped_model_path.stem}, second"):
        call_command("activate_model", "third")
    assert active_version().name == "first"


@pytest.mark.django_db
@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_a_broken_checkpoint_is_refused_and_the_active_version_stays(two_versions, damage):
    first, second = two_versions
    path = second.file_path
    if damage == "garbage":
        path.write_bytes(b"this is not a checkpoint")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    else:
        path.unlink()
    with pytest.raises(CommandError, match="refusing to activate second"):
        call_command("activate_model", "second")
    assert list(ModelVersion.objects.filter(is_active=True)) == [first]
    assert model_cache.current().version == first


@pytest.mark.django_db
def test_a_server_that_cannot_load_the_active_version_answers_with_the_one_before(client, two_versions, mnist_test,
                                                                                  caplog, monkeypatch):
    """Activated from a server that has its file, on another that has not: every drawing there was a 503,
    and the log had a traceback for each."""
    first, second = two_versions
    monkeypatch.setattr(inference, "RETRY_SECONDS", 0.0)   # tried again at every request
    assert model_cache.current().version == first
    content = second.file_path.read_bytes()
    second.file_path.unlink()
    second.make_active()
    drawing = {"image": "data:image/png;base64," + base64.b64encode(png(mnist_test.images[0])).decode()}
    with caplog.at_level(logging.ERROR, logger="recognizer.inference"):
        for _ in range(3):
            answer = client.post("/api/predictions/", drawing, content_type="application/json")
            assert answer.status_code == 201 and answer.json()["model_version"] == "first"
    assert caplog.text.count("cannot load the active model version second, still serving first") == 1
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "stale"
    second.file_path.write_bytes(content)
    assert client.post("/api/predictions/", drawing, content_type="application/json").json()["model_version"] == "second"
    assert client.get("/healthz").json() == {"status": "ok", "model_version": "second"}


@pytest.mark.django_db
def test_a_worker_that_never_loaded_a_version_says_why_once_and_tries_again_in_a_while(client, two_versions, caplog,
                                                                                      monkeypatch):
    """Started while the active version's file is missing here: every probe logged a 25-line traceback and
    read the file again."""
    first, second = two_versions
    monkeypatch.setattr(model_cache, "loaded", None)
    second.file_path.unlink()
    second.make_active()
    loads = []
    monkeypatch.setattr(inference, "load_predictor", lambda version: loads.append(version) or version.load())
    with caplog.at_level(logging.ERROR):
        answers = [client.get("/healthz") for _ in range(5)]
    assert all(answer.status_code == 503 and answer.json()["status"] == "unavailable" for answer in answers)
    assert len(loads) == 1 and "Traceback" not in caplog.text
    assert caplog.text.count("cannot load the active model version second, answering 503") == 1


def predict_over_http(base_url: str, drawing: bytes) -> dict:
    body = json.dumps({"image": "data:image/png;base64," + base64.b64encode(drawing).decode(),
                       "source": "canvas"}).encode()
    request = urllib.request.Request(f"{base_url}/api/predictions/", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return json.loads(response.read())


@pytest.mark.django_db(transaction=True)
def test_activating_switches_a_running_server_without_restart(live_server, two_versions, mnist_test):
    drawing = png(mnist_test.images[0])
    before = predict_over_http(live_server.url, drawing)
    assert before["model_version"] == "first"

    activate("second")
    after = predict_over_http(live_server.url, drawing)
    assert after["model_version"] == "second"
    assert after["digit"] == before["digit"]
    assert after["confidence"] < before["confidence"]

    activate("first")
    again = predict_over_http(live_server.url, drawing)
    assert again["model_version"] == "first"
    assert again["probabilities"] == pytest.approx(before["probabilities"], abs=1e-9)
