"""The release gate: one lifecycle for train, activate_model and the admin; a worse version is refused unless forced."""

import io
import json
import shutil
from datetime import timedelta

import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command
from django.utils import timezone

from mlcore import checkpoint
from mlcore.datasets.drawn import drawn_digits
from mlcore.datasets.negatives import not_digits
from mlcore.datasets.styles import styled_digits
from mlcore.compare import Comparison, SetComparison, regressions_of
from mlcore.evaluate import DRAWN_SEED, NOT_DIGITS_SEED, STYLED_SEED, Scores
from mlcore.labels import NOT_A_DIGIT
from recognizer.models import ModelVersion, Prediction, input_from_bytes
from recognizer.release import TOLERANCE, comparison_lines, evaluation_sets, reviewed_holdout

from .block_counts import write_optdigits
from .networks import output_layers
from .reviewing import PASSWORD, REVIEWER_PERMISSIONS, make_user, record_drawing

pytestmark = pytest.mark.django_db

VERSIONS = "/admin/recognizer/modelversion/"
NEVER_ANSWERED = 3


@pytest.fixture
def worse(tmp_path, shipped_model_path):
    """The shipped model made never to answer 3: about a tenth of every digit set goes wrong."""
    model, metadata = checkpoint.load(shipped_model_path)
    with torch.no_grad():
        for layer in output_layers(model):
            layer.weight[NEVER_ANSWERED].zero_()
            layer.bias[NEVER_ANSWERED] = -100.0
    path = checkpoint.save(tmp_path / "worse.pt", model, metadata)
    return ModelVersion.objects.register(path, name="worse")


@pytest.fixture
def never_null(tmp_path, shipped_model_path):
    """The shipped model made never to reach its not-a-digit threshold: the same digits, no "not a digit"."""
    model, metadata = checkpoint.load(shipped_model_path)
    with torch.no_grad():
        for layer in output_layers(model):
            layer.weight[NOT_A_DIGIT].zero_()
            layer.bias[NOT_A_DIGIT] = -100.0
    path = checkpoint.save(tmp_path / "never-null.pt", model, metadata)
    return ModelVersion.objects.register(path, name="never-null")


def test_activate_model_refuses_a_worse_version(worse, served_model):
    output = io.StringIO()
    with pytest.raises(CommandError, match=rf"refusing to activate worse: worse than {served_model.name} on MNIST test "
                                           r"accuracy [\d.]+ < [\d.]+.*--force"):
        call_command("activate_model", "worse", stdout=output)
    assert "MNIST test" in output.getvalue() and "drawn" in output.getvalue()
    assert ModelVersion.objects.active() == served_model
    worse.refresh_from_db()
    assert worse.forced_at is None and worse.forced_by == ""


def test_a_version_replaces_an_active_one_that_cannot_be_loaded(worse, served_model, tmp_path):
    """The gate loaded the active version to compare with, and refused every other, --force too: a site whose
    model file was gone answered 503 with no way back."""
    ModelVersion.objects.filter(pk=served_model.pk).update(path=str(tmp_path / "gone.pt"))
    output = io.StringIO()
    call_command("activate_model", "worse", stdout=output)
    assert ModelVersion.objects.active() == worse
    assert f"the active version {served_model.name} cannot be loaded" in output.getvalue()
    assert "the release gate was not run" in output.getvalue()


def test_the_gate_judges_the_answers_served_not_a_digit_included(never_null, served_model):
    """The gate reads what the site would answer: a version that stops saying "not a digit" is refused on the
    non-digits, and its other sets change only by the digits the shipped model answers "not a digit"."""
    output = io.StringIO()
    with pytest.raises(CommandError, match=r"non-digits 'not a digit' rate 0\.0000 vs 0\.[89]\d+"):
        call_command("activate_model", "never-null", stdout=output)
    table = {line.split()[0]: line.split() for line in output.getvalue().splitlines()[1:] if line.strip()}
    shipped_null_rate, never_null_rate = map(float, table["non-digits"][-2:])
    assert shipped_null_rate > 0.8 and never_null_rate == 0
    assert ModelVersion.objects.active() == served_model


def test_a_checkpoint_refused_by_path_is_said_to_stay_registered(worse, served_model, tmp_path):
    """Its name and file were then refused to `train --out` and `ensemble --out`, and nothing said why."""
    path = tmp_path / "worse-again.pt"
    shutil.copy(worse.file_path, path)
    with pytest.raises(CommandError, match="worse-again stays registered, not active: activate it by name later, "
                                           "or delete it in the admin"):
        call_command("activate_model", str(path), stdout=io.StringIO())
    assert not ModelVersion.objects.get(name="worse-again").is_active
    # Named, a registered version is registered already: nothing to say.
    with pytest.raises(CommandError) as refused:
        call_command("activate_model", "worse", stdout=io.StringIO())
    assert "stays registered" not in str(refused.value)


def test_force_activates_it_says_so_and_records_who_and_when(worse):
    output = io.StringIO()
    call_command("activate_model", "worse", "--force", stdout=output)
    assert "forced past the release gate by" in output.getvalue()
    assert "activated worse" in output.getvalue()
    worse.refresh_from_db()
    assert worse.is_active and worse.forced_at is not None and worse.forced_by
    assert any("MNIST test accuracy" in line for line in worse.forced_comparison["regressions"])


def test_compare_models_json_and_gallery(worse, served_model, tmp_path):
    output = io.StringIO()
    call_command("compare_models", served_model.name, "worse", "--json", "--report-dir", str(tmp_path),
                 stdout=output)
    report = json.loads(output.getvalue())
    assert [s["name"] for s in report["sets"]] == ["MNIST test", "drawn", "styled", "reviewed hold-out", "non-digits"]
    mnist = report["sets"][0]
    assert mnist["b"]["accuracy"] < mnist["a"]["accuracy"] - 0.05
    assert mnist["only_a_right"] > 0 and mnist["only_b_right"] == 0
    assert report["regressions"] and (tmp_path / f"{served_model.name}-vs-worse.png").is_file()


def test_compare_models_gives_no_figures_for_a_set_with_no_drawings(worse, served_model, tmp_path):
    output = io.StringIO()
    call_command("compare_models", served_model.name, "worse", "--report-dir", str(tmp_path), stdout=output)
    (reviewed,) = [line for line in output.getvalue().splitlines() if line.startswith("reviewed hold-out")]
    assert reviewed.split()[2:] == ["0"] + ["-"] * 6


def test_compare_models_words_the_tolerance_it_was_worse_beyond(worse, served_model, tmp_path):
    output = io.StringIO()
    call_command("compare_models", served_model.name, "worse", "--report-dir", str(tmp_path), stdout=output)
    assert (f"worse is worse than {served_model.name} beyond the tolerance (accuracy may drop by 0.005, ECE over "
            f"the answers rise by 0.02, the \"not a digit\" rate move the wrong way by 0.01, on sets of 100 images or "
            f"more): MNIST test accuracy ") in output.getvalue()


def test_the_gate_says_its_ece_is_over_the_answers():
    """`evaluate` prints the ECE over the likeliest digits; the gate's, over the answers, "not a digit" included."""
    nothing = np.zeros(0, dtype=np.int64)
    drawn = SetComparison("drawn", 300, Scores(0.99, 0.01, 0.0), Scores(0.99, 0.05, 0.0), nothing, nothing,
                          nothing, nothing)
    assert regressions_of(drawn, False, TOLERANCE) == ["drawn ECE over the answers 0.0500 > 0.0100"]
    header = comparison_lines(Comparison("v1", "v2", [drawn], [], TOLERANCE))[0]
    assert header.split() == ["set", "images", "accuracy", "v1", "accuracy", "v2", "ECE/answers", "v1",
                              "ECE/answers", "v2", "not-a-digit", "v1", "not-a-digit", "v2"]


@pytest.mark.parametrize("b, regression", [
    (Scores(float("nan"), 0.01, 0.0), "drawn accuracy nan < 0.9900"),
    (Scores(0.99, float("nan"), 0.0), "drawn ECE over the answers nan > 0.0100"),
    (Scores(0.99, 0.01, float("nan")), "drawn 'not a digit' rate nan vs 0.0000"),
])
def test_a_figure_that_is_not_a_number_fails_the_gate(b, regression):
    """A NaN ECE passed it: no comparison with NaN is true, so none found it worse."""
    nothing = np.zeros(0, dtype=np.int64)
    drawn = SetComparison("drawn", 300, Scores(0.99, 0.01, 0.0), b, nothing, nothing, nothing, nothing)
    assert regressions_of(drawn, False, TOLERANCE) == [regression]


def test_given_an_optdigits_file_the_gate_also_compares_on_its_writers(worse, served_model, tmp_path, settings,
                                                                       mnist_test):
    settings.RELEASE_GATE_OPTDIGITS = write_optdigits(tmp_path / "writers.tes", mnist_test.head(150))
    output = io.StringIO()
    call_command("compare_models", served_model.name, "worse", "--json", "--report-dir", str(tmp_path),
                 stdout=output)
    report = json.loads(output.getvalue())
    assert [s["name"] for s in report["sets"]] == ["MNIST test", "drawn", "styled", "UCI writers", "reviewed hold-out",
                                                   "non-digits"]
    writers = report["sets"][3]
    assert writers["images"] == 150 and writers["only_a_right"] > 0
    # The served model reads most of them; the version that never answers 3 loses those and is refused for it.
    assert writers["a"]["accuracy"] > 0.8 and writers["b"]["accuracy"] < writers["a"]["accuracy"] - 0.05
    assert any(regression.startswith("UCI writers accuracy") for regression in report["regressions"])


def test_an_unreadable_optdigits_file_stops_the_gate_and_names_itself(worse, served_model, tmp_path, settings):
    settings.RELEASE_GATE_OPTDIGITS = tmp_path / "writers.tes"
    settings.RELEASE_GATE_OPTDIGITS.write_text("0,1,2\n")
    with pytest.raises(CommandError, match=r"RELEASE_GATE_OPTDIGITS: .*writers\.tes, line 1: 3 values"):
        call_command("activate_model", "worse", "--force", stdout=io.StringIO())
    assert ModelVersion.objects.active() == served_model


def test_an_unknown_version_is_a_command_error(served_model):
    with pytest.raises(CommandError, match="no model version named 'nothing'"):
        call_command("compare_models", served_model.name, "nothing")


@pytest.mark.trains
def test_train_activates_through_the_same_gate(tmp_path, mnist_dir, served_model):
    """A model trained for one epoch on 100 images is far worse than the shipped one: registered, not served."""
    with pytest.raises(CommandError, match=r"registered model version tiny but did not activate it: refusing to "
                                           rf"activate tiny: worse than {served_model.name}"):
        call_command("train", "--epochs", "1", "--train-limit", "100", "--threads", "1", "--data-dir", str(mnist_dir),
                     "--out", str(tmp_path / "tiny.pt"), "--name", "tiny", "--activate", verbosity=0,
                     stdout=io.StringIO())
    assert not ModelVersion.objects.get(name="tiny").is_active


@pytest.mark.trains
def test_train_forced_past_the_gate_says_what_it_was_forced_past(tmp_path, mnist_dir, served_model):
    """`activate_model --force` shows the comparison and the regressions it forced past; `train --activate
    --force` said only that the version was active."""
    output = io.StringIO()
    call_command("train", "--epochs", "1", "--train-limit", "100", "--threads", "1", "--data-dir", str(mnist_dir),
                 "--out", str(tmp_path / "tiny.pt"), "--name", "tiny", "--activate", "--force", verbosity=0,
                 stdout=output)
    said = output.getvalue()
    assert ModelVersion.objects.get(name="tiny").is_active
    assert f"accuracy {served_model.name}" in said and "forced past the release gate by " in said, said


@pytest.mark.trains
def test_train_that_cannot_run_the_gate_says_it_registered_the_version(tmp_path, mnist_dir, served_model, settings):
    """The version is stored before the gate runs: the command says so and how to activate it, where it
    said it could not register it, and a rerun under the same name was refused."""
    settings.RELEASE_GATE_OPTDIGITS = str(tmp_path / "absent.csv.gz")
    with pytest.raises(CommandError, match=r"registered model version tiny but could not activate it: the release "
                                           r"gate's RELEASE_GATE_OPTDIGITS: .*`manage.py activate_model tiny`"):
        call_command("train", "--epochs", "1", "--train-limit", "100", "--threads", "1", "--data-dir", str(mnist_dir),
                     "--out", str(tmp_path / "tiny.pt"), "--name", "tiny", "--activate", verbosity=0,
                     stdout=io.StringIO())
    assert not ModelVersion.objects.get(name="tiny").is_active and ModelVersion.objects.active() == served_model


def test_the_admin_shows_the_comparison_refuses_and_can_force(client, django_user_model, worse, served_model):
    reviewer = make_user(django_user_model, "releaser", staff=True, permissions=REVIEWER_PERMISSIONS)
    client.login(username=reviewer.username, password=PASSWORD)

    refused = client.post(VERSIONS, {"action": "activate", "_selected_action": [str(worse.pk)]})
    page = refused.content.decode()
    assert refused.status_code == 200 and "refusing to activate worse" in page
    assert "MNIST test" in page and "non-digits" in page and 'name="force" value="1"' in page
    assert ModelVersion.objects.active() == served_model

    forced = client.post(VERSIONS, {"action": "activate", "_selected_action": [str(worse.pk)], "force": "1"})
    assert forced.status_code == 200 and "is now active" in forced.content.decode()
    worse.refresh_from_db()
    assert worse.is_active and worse.forced_by == "releaser"


def test_the_gate_measures_on_the_sets_evaluate_reports(served_model, mnist_test, settings):
    """Two sets went by the names "drawn", "styled" and "non-digits", drawn with other seeds: the same model
    on the same 300 test digits read 0.9900 in `evaluate` and 0.9933 in the gate."""
    count = settings.RELEASE_GATE_LIMIT
    gate = {s.name: s for s in evaluation_sets(served_model)}
    test = mnist_test.head(count)
    assert np.array_equal(gate["drawn"].images, drawn_digits(test.images, test.labels, seed=DRAWN_SEED)[0])
    assert np.array_equal(gate["styled"].images, styled_digits(count, seed=STYLED_SEED)[0])
    assert np.array_equal(gate["non-digits"].images, not_digits(count, seed=NOT_DIGITS_SEED, digits=mnist_test.images))


def test_the_gate_holds_out_from_the_newest_reviewed_drawings_only(settings, mnist_test):
    """However many drawings have been reviewed, the gate reads a bounded number of them: the newest."""
    start = timezone.now()
    drawings = [record_drawing(digit) for digit in mnist_test.images[:40]]
    for age, (prediction, label) in enumerate(zip(drawings, mnist_test.labels[:40])):
        Prediction.objects.filter(pk=prediction.pk).update(true_label=int(label),
                                                           created_at=start - timedelta(minutes=age))
    newest = {input_from_bytes(p.mnist_input).tobytes() for p in drawings[:20]}

    settings.RELEASE_GATE_LIMIT = 20
    bounded = reviewed_holdout()
    settings.RELEASE_GATE_LIMIT = None
    every = reviewed_holdout()

    assert 0 < len(bounded.images) < len(every.images)
    assert {image.tobytes() for image in bounded.images} <= newest
    assert any(image.tobytes() not in newest for image in every.images)


def test_the_gate_holds_out_only_the_reviewed_drawings_neither_version_trained_on(mnist_test, served_model, worse):
    """A version trained with `--holdout-fraction 0.05` trained on three quarters of the gate's usual
    hold-out, which then measured it on drawings it had learnt."""
    for prediction, label in zip([record_drawing(digit) for digit in mnist_test.images[:60]], mnist_test.labels[:60]):
        Prediction.objects.filter(pk=prediction.pk).update(true_label=int(label))
    worse.metadata["reviewed_training"] = {"holdout_fraction": 0.05}
    worse.save()
    held_out = {s.name: s for s in evaluation_sets(served_model, worse)}["reviewed hold-out"].images
    assert held_out.tobytes() == reviewed_holdout(0.05).images.tobytes()
    assert len(held_out) < len(reviewed_holdout().images)
    assert len({s.name: s for s in evaluation_sets(served_model)}["reviewed hold-out"].images) == len(
        reviewed_holdout().images)

