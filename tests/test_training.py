"""The train command on a small budget: it learns, it is reproducible, and it rejects bad options clearly."""

from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import torch
from django.conf import settings
from django.core.management import CommandError, call_command

from mlcore import checkpoint
from mlcore.datasets.fonts import NOT_DIGIT_CHARACTERS, TRAINING_SIZES, font_files, font_not_digits
from mlcore.evaluate import evaluate_split
from mlcore.labels import NOT_A_DIGIT
from mlcore.model import DigitCNN
from mlcore.predict import logits_of
from mlcore.training.recipe import TRAIN_SEED, Extras, draw_extras, split_off
from mlcore.training.train import TrainConfig, train
from recognizer.models import ModelVersion

from .networks import output_layers

MODELS = Path(settings.MODELS_DIR)

# The command looks up registered versions, so that it never writes over a served file.
pytestmark = pytest.mark.django_db


def run_train(*args) -> str:
    out = StringIO()
    call_command("train", *map(str, args), "-v", "0", stdout=out)
    return out.getvalue()


@pytest.mark.trains
def test_one_epoch_on_3000_images_reaches_90_percent(tmp_path, mnist_dir, mnist_test):
    out = tmp_path / "model.pt"
    run_train("--epochs", 1, "--train-limit", 3000, "--threads", 1, "--rotation", 20, "--data-dir", mnist_dir,
              "--out", out, "--no-register")

    model, metadata = checkpoint.load(out)
    _, accuracy = evaluate_split(model, mnist_test.head(1000))
    assert accuracy > 0.90
    assert metadata["train_images"] == 3000 and metadata["epochs"] == 1
    assert metadata["hyperparameters"]["rotation"] == 20
    assert out.with_suffix(".json").is_file()


@pytest.mark.trains
def test_same_seed_gives_identical_weights(mnist_train, mnist_test):
    # The train command runs this same function; calling it directly skips the 10,000-image test pass.
    config = TrainConfig(epochs=1, train_limit=300, threads=1, seed=5)
    test_head = mnist_test.head(100)
    first = train(config, mnist_train, test_head, progress=False, log=lambda line: None)
    second = train(config, mnist_train, test_head, progress=False, log=lambda line: None)

    torch.manual_seed(config.seed)
    untrained = DigitCNN().state_dict()
    trained = first.model.state_dict()
    for name, tensor in trained.items():
        assert torch.equal(tensor, second.model.state_dict()[name]), name
    assert not all(torch.equal(tensor, untrained[name]) for name, tensor in trained.items())
    assert first.metadata["history"][0]["train_loss"] == second.metadata["history"][0]["train_loss"]


@pytest.mark.trains
@pytest.mark.django_db
def test_train_registers_a_model_version(tmp_path, mnist_dir):
    out = tmp_path / "small.pt"
    output = run_train("--epochs", 1, "--train-limit", 200, "--threads", 1, "--data-dir", mnist_dir,
                       "--out", out, "--name", "small-test")

    version = ModelVersion.objects.get(name="small-test")
    assert "registered model version small-test" in output
    assert version.sha256 == checkpoint.file_sha256(out)
    assert version.params == checkpoint.load(out)[1]["params"]
    assert not version.is_active


@pytest.mark.trains
def test_fonts_add_their_letters_and_symbols_as_non_digits(tmp_path, mnist_dir, font_dir):
    out = tmp_path / "fonts.pt"
    run_train("--epochs", 1, "--train-limit", 200, "--threads", 1, "--data-dir", mnist_dir, "--fonts", font_dir,
              "--out", out, "--no-register")

    training_set = checkpoint.load(out)[1]["training_set"]
    assert training_set["font_not_digits"] == len(NOT_DIGIT_CHARACTERS) * len(TRAINING_SIZES)
    assert training_set["fonts"] == ["aileron.ttf"] and training_set["not_digits"] == 0


def test_font_letters_are_learnt_as_a_person_draws_them_on_the_canvas(mnist_train, font_dir):
    """Typeset, a font's strokes (thick and thin, cut square) would tell its letters from the digits,
    which are all drawn with the page's round pen; so they are traced and drawn again with it."""
    fonts = font_files(font_dir)
    typeset, _ = font_not_digits(fonts, TRAINING_SIZES, seed=TRAIN_SEED)
    learnt = draw_extras(split_off(mnist_train)[0], Extras(fonts=tuple(fonts)))

    assert learnt.images.shape == typeset.shape and (learnt.labels == NOT_A_DIGIT).all()
    assert (learnt.images.reshape(len(typeset), -1).max(axis=1) > 200).all()
    differences = np.abs(learnt.images.astype(int) - typeset.astype(int)).mean(axis=(1, 2))
    assert (differences > 5).mean() > 0.9, "most letters should come out as new drawings, not the typeset images"


def test_font_letters_are_drawn_once_and_read_from_the_cache_after(mnist_train, font_dir, tmp_path, monkeypatch):
    fonts = font_files(font_dir)
    fit = split_off(mnist_train)[0]
    drawn = draw_extras(fit, Extras(fonts=tuple(fonts), cache_dir=tmp_path))

    def drawing_again(*args, **kwargs):
        raise AssertionError("the fonts' letters were drawn again, not read from the cache")

    monkeypatch.setattr("mlcore.training.recipe.font_not_digits", drawing_again)
    cached = draw_extras(fit, Extras(fonts=tuple(fonts), cache_dir=tmp_path))
    assert np.array_equal(cached.images, drawn.images) and np.array_equal(cached.labels, drawn.labels)

    other = tmp_path / "other"
    other.mkdir()
    (other / "renamed.ttf").write_bytes(fonts[0].read_bytes() + b"\0")
    with pytest.raises(AssertionError, match="drawn again"):
        draw_extras(fit, Extras(fonts=(other / "renamed.ttf",), cache_dir=tmp_path))


def shifted_teacher(path) -> torch.nn.Module:
    """The checkpoint's model with its digit outputs turned one place on: it reads every d as d + 1 (mod 10)."""
    model, _ = checkpoint.load(path)
    order = [9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10]
    with torch.no_grad():
        for layer in output_layers(model):
            layer.weight.copy_(layer.weight[order])
            layer.bias.copy_(layer.bias[order])
    return model


@pytest.mark.trains
@pytest.mark.parametrize("teacher_weight, learnt_labels", [(1.0, "the teacher's"), (0.1, "the true")])
def test_a_teacher_s_answers_are_learnt_in_their_share_of_the_loss(mnist_train, mnist_test, shipped_model_path,
                                                                 teacher_weight, learnt_labels):
    """A teacher that reads each digit as the next one: taught by it alone, the student answers as it
    does; with the labels holding most of the loss, the student reads the true digits."""
    config = TrainConfig(epochs=1, train_limit=2000, threads=1, teacher_weight=teacher_weight)
    test = mnist_test.head(500)
    student = train(config, mnist_train, test, teacher=shifted_teacher(shipped_model_path),
                    progress=False, log=lambda line: None).model
    predicted = logits_of(student, test.images).argmax(dim=1).numpy()
    expected = (test.labels + 1) % 10 if learnt_labels == "the teacher's" else test.labels
    assert (predicted == expected).mean() > 0.8


@pytest.mark.trains
def test_the_model_card_names_its_teacher(tmp_path, mnist_dir):
    # One network, not the served pair: half the cost of reading MNIST test and the held-out sets.
    teacher, out = MODELS / "mnist_cnn_v4_2.pt", tmp_path / "taught.pt"
    run_train("--start-from", teacher, "--teacher", teacher, "--teacher-temperature", 3,
              "--epochs", 1, "--train-limit", 200, "--threads", 1, "--data-dir", mnist_dir, "--out", out,
              "--no-register")
    metadata = checkpoint.load(out)[1]
    assert metadata["teacher"] == {"path": str(teacher), "architecture": checkpoint.load(teacher)[1]["architecture"],
                                   "sha256": checkpoint.file_sha256(teacher)}
    assert metadata["hyperparameters"]["teacher_weight"] == 0.5
    assert metadata["hyperparameters"]["teacher_temperature"] == 3


@pytest.mark.parametrize("options, message", [
    (["--teacher-weight", "0.5"], "--teacher-weight needs --teacher"),
    (["--teacher", MODELS / "mnist_cnn.pt"], r"the teacher \(mnist-cnn-v1\) and mnist-cnn-v4 have different outputs"),
    (["--teacher", MODELS / "mnist_cnn_v4_2.pt", "--teacher-weight", "1.5"], "teacher_weight must be between 0 and 1"),
    (["--teacher", MODELS / "mnist_cnn_v4_2.pt", "--teacher-temperature", "0"], "teacher_temperature must be positive"),
    (["--teacher", MODELS / "no-such-model.pt"], "no-such-model.pt"),
    (["--teacher", MODELS / "mnist_cnn_v4_2.pt", "--with-reviewed"], "not with --with-reviewed"),
    (["--start-from", MODELS / "mnist_cnn_v4_2.pt", "--with-reviewed"], "--with-reviewed fine-tunes the active"),
    (["--epochs", "0"], "epochs must be at least 1"),
    (["--train-limit", "0"], "train_limit must be at least 1"),
    (["--variant", "bogus"], "invalid choice: 'bogus'"),
    (["--rotation", "120"], "rotation must be between 0 and 90 degrees"),
    (["--fonts", "/nonexistent/fonts"], "/nonexistent/fonts is not a directory"),
    (["--stray-marks", "-1"], "--stray-marks must be at least 0"),
    (["--lr", "inf"], "lr must be a finite number"),
    (["--with-reviewed", "--reviewed-weight", "nan"], "--reviewed-weight must be a positive number"),
])
def test_bad_options_are_command_errors(tmp_path, mnist_dir, options, message):
    with pytest.raises(CommandError, match=message):
        run_train(*options, "--data-dir", mnist_dir, "--out", tmp_path / "model.pt", "--no-register")
    assert not (tmp_path / "model.pt").exists()


def test_an_out_path_it_could_not_save_to_is_refused_before_training(tmp_path, mnist_dir):
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "a-directory.pt").mkdir()
    for out, message in ((tmp_path / "model.json", "name the checkpoint with .pt"),
                         (tmp_path / "a-directory.pt", "is a directory"),
                         (tmp_path / "a-file" / "model.pt", "a-file is a file, not a directory")):
        with pytest.raises(CommandError, match=message):
            run_train("--epochs", 1, "--train-limit", 100, "--data-dir", mnist_dir, "--out", out, "--no-register")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-directory.pt", "a-file"]


def test_missing_data_dir_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="is missing") as caught:
        run_train("--epochs", 1, "--data-dir", tmp_path / "nowhere", "--out", tmp_path / "model.pt", "--no-register")
    assert "fetch_mnist" in str(caught.value)


def test_never_writes_over_a_served_model(tmp_path, shipped_model_path, mnist_dir):
    served = tmp_path / "served.pt"
    served.write_bytes(shipped_model_path.read_bytes())
    ModelVersion.objects.register(served, name="served", activate=True)
    with pytest.raises(CommandError, match="is the file of model version 'served'; choose another --out"):
        run_train("--epochs", 1, "--train-limit", 100, "--data-dir", mnist_dir, "--out", served)
    assert served.read_bytes() == shipped_model_path.read_bytes()


@pytest.mark.parametrize("field, value, message", [
    ("threads", 0, "threads must be at least 1"),
    ("threads", 2.5, "threads must be an integer"),
    ("seed", -1, "seed must be at least 0"),
    ("batch_size", True, "batch_size must be an integer"),
    ("lr", 0.0, "lr must be positive"),
    ("lr", float("nan"), "lr must be a finite number"),
    ("lr", float("inf"), "lr must be a finite number"),
    pytest.param("lr", 10 ** 400, "lr must be a finite number", id="lr-too large for a float"),
    ("momentum", 1.0, r"momentum must be in \[0, 1\)"),
    ("dropout", 1.0, r"dropout must be in \[0, 1\)"),
    ("l1", -1e-6, "l1 and l2 must be non-negative"),
    ("rotation", -5.0, "rotation must be between 0 and 90 degrees"),
    ("rotation", "wide", "rotation must be a finite number"),
    ("architecture", "resnet", "architecture must be one of"),
    ("elastic", "yes", "elastic must be true or false"),
    ("coarse", 1, "coarse must be true or false"),
    ("teacher_weight", -0.1, "teacher_weight must be between 0 and 1"),
    ("teacher_temperature", float("inf"), "teacher_temperature must be a finite number"),
    ("device", "gpu0", "device must be a name such as cpu or cuda"),
    ("device", 0, "device must be a name such as cpu or cuda"),
])
def test_every_config_field_is_validated(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine can train on cuda")
def test_an_accelerator_the_machine_lacks_is_refused_before_any_data_is_read(tmp_path):
    with pytest.raises(CommandError, match="this machine has no cuda device to train on"):
        run_train("--device", "cuda", "--data-dir", tmp_path / "no-mnist-here", "--out", tmp_path / "model.pt",
                  "--no-register")
    assert not (tmp_path / "model.pt").exists()


def test_bad_threads_are_a_command_error_in_both_training_commands(tmp_path, mnist_dir):
    with pytest.raises(CommandError, match="threads must be at least 1"):
        run_train("--threads", 0, "--data-dir", mnist_dir, "--out", tmp_path / "model.pt", "--no-register")
    with pytest.raises(CommandError, match="threads must be at least 1"):
        call_command("compare_regularization", "--threads", "0", "--data-dir", str(mnist_dir),
                     "--report-dir", str(tmp_path), stdout=StringIO())
