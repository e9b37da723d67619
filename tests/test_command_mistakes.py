"""An engineer's mistakes on the command line (audit 7): each is one sentence, found before the work, and
overwrites nothing the site keeps."""

import io
import os
import pickle
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from django.conf import settings
from django.core.management import CommandError, call_command, load_command_class

from mlcore import checkpoint
from mlcore.training import recipe
from recognizer.models import ModelVersion, Prediction

from .reviewing import record_drawing

pytestmark = pytest.mark.django_db


def call(*args) -> str:
    out = io.StringIO()
    call_command(*map(str, args), stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def served(tmp_path, shipped_model_path) -> Path:
    """A registered, served copy of the shipped model, with its model card beside it."""
    path = tmp_path / "served.pt"
    path.write_bytes(shipped_model_path.read_bytes())
    path.with_suffix(".json").write_bytes(shipped_model_path.with_suffix(".json").read_bytes())
    ModelVersion.objects.register(path, name="served", activate=True)
    return path


@pytest.mark.parametrize("option, target, message", [
    ("--out", "checkpoint", "is the file of model version 'served'; choose another --out"),
    ("--out", "card", "is the model card of model version 'served'; choose another --out"),
    ("--strokes", "card", "is the model card of model version 'served'; choose another --strokes"),
    ("--out", "database", "is the site's database; choose another --out"),
])
def test_an_export_never_writes_over_a_served_model_or_the_database(tmp_path, served, option, target, message):
    path = {"checkpoint": served, "card": served.with_suffix(".json"),
            "database": Path(settings.DATABASES["default"]["NAME"])}[target]
    if not path.exists():
        pytest.skip("the test database lives in memory")
    before = path.read_bytes()
    options = {"--out": tmp_path / "reviewed.npz", "--strokes": tmp_path / "strokes.json", option: path}
    with pytest.raises(CommandError, match=message):
        call("export_reviewed", *[part for pair in options.items() for part in pair])
    assert path.read_bytes() == before


@pytest.mark.parametrize("option", ["--start-from", "--teacher"])
def test_training_never_writes_over_the_checkpoint_it_reads(tmp_path, shipped_model_path, mnist_dir, option):
    start = tmp_path / "start.pt"
    start.write_bytes(shipped_model_path.read_bytes())
    with pytest.raises(CommandError, match=f"is the {option} checkpoint, which training reads"):
        call("train", option, start, "--out", start, "--epochs", 1, "--train-limit", 100, "--data-dir", mnist_dir,
             "--no-register")
    assert start.read_bytes() == shipped_model_path.read_bytes()


def test_a_version_name_taken_is_refused_before_training(tmp_path, served):
    # The MNIST directory is not there: the name is checked first.
    with pytest.raises(CommandError, match="a model version is named 'served' already; choose another --name"):
        call("train", "--out", tmp_path / "new.pt", "--name", "served", "--data-dir", tmp_path / "no-mnist")


def test_a_model_to_serve_but_not_record_is_refused_before_training(tmp_path):
    """--activate was dropped without a word: the engineer thought the new model served."""
    with pytest.raises(CommandError, match="--activate serves the model version that --no-register would not record"):
        call("train", "--out", tmp_path / "new.pt", "--no-register", "--activate", "--data-dir", tmp_path / "no-mnist")
    assert not (tmp_path / "new.pt").exists()


@pytest.mark.parametrize("floor", ["5", "nan", "-0.1"])
def test_an_accuracy_floor_outside_0_to_1_is_refused(tmp_path, floor):
    with pytest.raises(CommandError, match="--min-mnist-accuracy must be an accuracy between 0 and 1"):
        call("train", "--with-reviewed", "--min-mnist-accuracy", floor, "--out", tmp_path / "new.pt",
             "--data-dir", tmp_path / "no-mnist")


@pytest.mark.parametrize("command", [
    ("compare_levers", "--data-dir", "no-mnist"), ("compare_regularization", "--data-dir", "no-mnist"),
    ("evaluate", "--data-dir", "no-mnist"), ("compare_models", "no-such-version", "nor-this-one"),
])
def test_a_report_directory_that_is_a_file_is_refused_before_the_work(tmp_path, command):
    """compare_levers trained every lever, then lost them all to a traceback."""
    file = tmp_path / "report"
    file.write_text("a file")
    with pytest.raises(CommandError, match=f"--report-dir {file}: {file} is a file, not a directory"):
        call(*command, "--report-dir", file)


@pytest.mark.parametrize("command", [
    ("train", "--no-register", "--out", "/proc/model.pt", "--data-dir", "no-mnist"),
    ("ensemble", "a.pt", "b.pt", "--out", "/proc/pair.pt", "--data-dir", "no-mnist"),
    ("evaluate", "--report-dir", "/proc/report", "--data-dir", "no-mnist"),
    ("compare_models", "no-such-version", "nor-this-one", "--report-dir", "/proc/report"),
    ("compare_levers", "--report-dir", "/proc/report", "--data-dir", "no-mnist"),
    ("compare_regularization", "--report-dir", "/proc/report", "--data-dir", "no-mnist"),
    ("fetch_mnist", "--data-dir", "/proc/mnist", "--from", "."),
])
def test_a_path_that_cannot_be_written_is_refused_before_the_work(command):
    """train trained fully, evaluate and compare_models measured everything, then each failed to save.
    /proc refuses a new file even to root, whom every permission lets by."""
    with pytest.raises(CommandError, match=r" /proc/\S+ cannot be written: /proc: "):
        call(*command)


def test_an_export_whose_second_file_cannot_be_written_writes_neither(tmp_path, mnist_test):
    Prediction.objects.filter(pk=record_drawing(mnist_test.images[0]).pk).update(true_label=7)
    with pytest.raises(CommandError, match="--strokes /proc/strokes.ndjson cannot be written"):
        call("export_reviewed", "--out", tmp_path / "reviewed.npz", "--strokes", "/proc/strokes.ndjson")
    assert not (tmp_path / "reviewed.npz").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write any file, read-only or not")
def test_a_read_only_file_is_not_written_over(tmp_path, mnist_test):
    Prediction.objects.filter(pk=record_drawing(mnist_test.images[0]).pk).update(true_label=7)
    kept = tmp_path / "kept.npz"
    kept.write_bytes(b"kept")
    kept.chmod(0o444)
    with pytest.raises(CommandError, match=f"--out {kept} cannot be written: the file is read-only"):
        call("export_reviewed", "--out", kept)
    assert kept.read_bytes() == b"kept"


@pytest.mark.parametrize("command, names", [
    ("train", "--canvas-drawings, --styled-digits, --not-digits and --stray-marks"),
    ("compare_levers", "--canvas-drawings, --styled-digits and --not-digits"),
])
def test_a_negative_count_of_generated_drawings_names_the_counts_its_command_takes(tmp_path, command, names):
    arguments = {"train": ["--out", tmp_path / "model.pt", "--no-register"], "compare_levers": ["--report-dir", tmp_path]}
    with pytest.raises(CommandError, match=f"^{names} must be at least 0$"):
        call(command, "--styled-digits", -1, *arguments[command], "--data-dir", tmp_path / "no-mnist")


def test_mnist_fetched_into_a_file_is_refused_in_a_sentence(tmp_path):
    file = tmp_path / "mnist"
    file.write_text("a file")
    with pytest.raises(CommandError, match=f"--data-dir {file}: {file} is a file, not a directory"):
        call("fetch_mnist", "--data-dir", file, "--from", tmp_path)


def test_an_ensemble_of_one_is_refused_before_mnist_is_read(tmp_path, shipped_model_path):
    with pytest.raises(CommandError, match="an ensemble needs at least two members, not 1"):
        call("ensemble", shipped_model_path, "--out", tmp_path / "pair.pt", "--data-dir", tmp_path / "no-mnist")


@pytest.mark.parametrize("command, given_as", [
    (["train", "--no-register", "--start-from"], "--start-from"),
    (["train", "--no-register", "--teacher"], "--teacher"),
    (["activate_model"], "the checkpoint to activate"),
    (["evaluate", "--model"], "--model"),
])
def test_a_missing_checkpoint_is_named_by_the_option_that_gave_it(tmp_path, mnist_dir, command, given_as):
    missing = tmp_path / "missing.pt"
    with pytest.raises(CommandError) as refused:
        call(*command, missing, *(["--data-dir", mnist_dir] if command[0] in ("train", "evaluate") else []))
    # MNIST_MODEL_PATH, which no option here reads, is not named.
    assert str(refused.value).endswith(f"model file {missing} (given as {given_as}) does not exist")


def test_a_pickle_is_not_loaded_and_torch_s_advice_to_load_it_anyway_is_not_passed_on(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"format": 1, "hook": Path("x")}, protocol=2))
    with pytest.raises(checkpoint.CheckpointError) as refused:
        checkpoint.load(path)
    assert "holds Python objects other than weights" in str(refused.value)
    assert "weights_only" not in str(refused.value)


def test_a_device_file_is_not_a_checkpoint_and_is_not_said_to_be_missing():
    with pytest.raises(checkpoint.CheckpointError, match="/dev/null is not a regular file"):
        checkpoint.load("/dev/null")


def flipped_inside(content: bytes) -> bytes:
    """An archive with bytes flipped inside its first array's compressed data, as a failing disk leaves it:
    zlib refuses it before the archive's checksum is read."""
    damaged = bytearray(content)
    for index in range(80, 120):
        damaged[index] ^= 0xFF
    return bytes(damaged)


@pytest.mark.parametrize("damage", [lambda content: content[:100], flipped_inside], ids=["truncated", "flipped"])
def test_a_damaged_cache_file_is_drawn_again_and_replaced(tmp_path, mnist_train, damage):
    """Bytes flipped inside the file stopped training with a zlib traceback."""
    fit, _ = recipe.split_off(mnist_train)
    first = recipe.draw_extras(fit, recipe.Extras(negatives=20, cache_dir=tmp_path))
    (cached,) = tmp_path.glob("negatives-train-*.npz")
    cached.write_bytes(damage(cached.read_bytes()))
    again = recipe.draw_extras(fit, recipe.Extras(negatives=20, cache_dir=tmp_path))
    assert np.array_equal(again.images, first.images)
    with np.load(cached) as archive:
        assert np.array_equal(archive["images"], first.images[:20])


@pytest.mark.parametrize("command, shipped_name", [
    ("train", "mnist_cnn_v9.pt"), ("ensemble", "mnist_cnn_v9.pt"),
    ("train", "mnist_cnn_v9.json"), ("export_reviewed", "mnist_cnn_v9.pt"), ("export_reviewed", "mnist_cnn_v9.json"),
])
def test_a_file_the_site_ships_is_not_written_over(tmp_path, shipped_model_path, mnist_test, settings, command,
                                                   shipped_name):
    """Not registered in this database, a shipped checkpoint was replaced without a word; export_reviewed
    replaced a shipped checkpoint or model card too, and train a card beside a new checkpoint."""
    Prediction.objects.filter(pk=record_drawing(mnist_test.images[0]).pk).update(true_label=7)
    settings.MODELS_DIR = tmp_path / "models"
    settings.MODELS_DIR.mkdir()
    shipped = settings.MODELS_DIR / shipped_name
    shipped.write_bytes(shipped_model_path.read_bytes())
    arguments = {"train": ["--no-register", "--data-dir", tmp_path / "no-mnist"],
                 "ensemble": [shipped_model_path, tmp_path / "other.pt", "--data-dir", tmp_path / "no-mnist"],
                 "export_reviewed": []}[command]
    with pytest.raises(CommandError, match="is a file in MODELS_DIR already, which the site ships or serves"):
        # train and ensemble write a checkpoint and, beside it, its card.
        call(command, *arguments, "--out", shipped if command == "export_reviewed" else shipped.with_suffix(".pt"))
    assert shipped.read_bytes() == shipped_model_path.read_bytes()


@pytest.mark.trains
def test_a_version_registered_at_out_while_training_is_not_written_over(tmp_path, shipped_model_path, mnist_dir,
                                                                         monkeypatch):
    """Checked only before a run, --out could become another version's file by its end, and was replaced."""
    out = tmp_path / "new.pt"
    real_train = recipe.train_with_extras

    def registered_meanwhile(*args, **kwargs):
        result = real_train(*args, **kwargs)
        out.write_bytes(shipped_model_path.read_bytes())
        ModelVersion.objects.register(out, name="meanwhile")
        return result

    monkeypatch.setattr("recognizer.management.commands.train.train_with_extras", registered_meanwhile)
    with pytest.raises(CommandError, match="trained, but did not save: .* is the file of model version 'meanwhile'"):
        call("train", "--out", out, "--epochs", 1, "--train-limit", 100, "--threads", 1, "--data-dir", mnist_dir)
    assert out.read_bytes() == shipped_model_path.read_bytes()


@pytest.mark.trains
def test_ctrl_c_during_training_says_so_and_saves_nothing(tmp_path, mnist_dir):
    """It printed a KeyboardInterrupt's traceback."""
    out = tmp_path / "interrupted.pt"
    environment = {**os.environ, "DJANGO_DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=settings.BASE_DIR, env=environment, check=True)
    # Started as a terminal starts it, with Ctrl-C's default handling: a test worker may run with Ctrl-C
    # ignored, which its children inherit. `env` resets it: a `preexec_fn` runs Python between fork and exec,
    # which can deadlock in a worker whose other threads (PyTorch's, the live server's) hold locks.
    training = subprocess.Popen(
        ["env", "--default-signal=INT", sys.executable, "manage.py", "train", "--out", str(out), "--no-register",
         "--epochs", "50", "--train-limit", "5000", "--threads", "1", "--data-dir", str(mnist_dir), "--skip-checks"],
        cwd=settings.BASE_DIR, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in training.stdout:
            if line.startswith("training "):
                break
        training.send_signal(signal.SIGINT)
        _, errors = training.communicate(timeout=60)
    finally:
        training.kill()
    assert training.returncode == 1 and "Traceback" not in errors, errors
    assert f"interrupted: nothing was saved, and {out} is as it was" in errors
    assert not out.exists() and list(tmp_path.glob("*.pt*")) == []


def interrupt(*args, **kwargs):
    """Ctrl-C, landing where it is patched in."""
    raise KeyboardInterrupt


@pytest.mark.parametrize("command, interrupted_at, left", [
    ("evaluate --drawn 0 --styled 0 --data-dir {mnist} --report-dir {tmp}/report", "evaluate.evaluate",
     "no report was written"),
    ("compare_models served copy --report-dir {tmp}/report", "compare_models.compare_versions",
     "no gallery was written"),
    ("compare_levers --data-dir {mnist} --report-dir {tmp}/report", "compare_levers.run_levers",
     "no report was written"),
    ("ensemble {models}/mnist_cnn_v4.pt {models}/mnist_cnn_v4_1.pt --out {tmp}/pair.pt --data-dir {mnist}",
     "ensemble.held_out_sets",
     "nothing was saved, and {tmp}/pair.pt is as it was"),
])
def test_ctrl_c_says_in_a_line_what_it_left(tmp_path, served, mnist_dir, monkeypatch, command, interrupted_at, left):
    """Each printed a KeyboardInterrupt's traceback."""
    shutil.copy(served, tmp_path / "copy.pt")
    ModelVersion.objects.register(tmp_path / "copy.pt", name="copy")
    monkeypatch.setattr(f"recognizer.management.commands.{interrupted_at}", interrupt)
    with pytest.raises(CommandError, match=f"^interrupted: {left.format(tmp=tmp_path)}$"):
        call(*command.format(tmp=tmp_path, mnist=mnist_dir, models=settings.MODELS_DIR).split())
    assert not (tmp_path / "report").exists() and not (tmp_path / "pair.pt").exists()


def test_ctrl_c_in_the_regularisation_study_removes_the_files_its_variants_wrote(tmp_path, mnist_dir, monkeypatch):
    """They stayed, beside another run's report, as if they were its."""
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    (report_dir / "report.md").write_text("an earlier study")

    def interrupted_after_a_variant(train_split, test_split, report_dir, **kwargs):
        (report_dir / "none.pt").write_bytes(b"a checkpoint")
        (report_dir / "misclassified_none.png").write_bytes(b"a gallery")
        raise KeyboardInterrupt

    monkeypatch.setattr("recognizer.management.commands.compare_regularization.run_study", interrupted_after_a_variant)
    with pytest.raises(CommandError, match=f"^interrupted: no report was written, and the 2 files its variants had "
                                           f"written to {report_dir} were removed$"):
        call("compare_regularization", "--data-dir", mnist_dir, "--report-dir", report_dir)
    assert [path.name for path in report_dir.iterdir()] == ["report.md"]


@pytest.mark.parametrize("activated, left", [
    (False, "served-again stays registered, not active; served is still active"),
    (True, "served-again is the active model version"),
])
def test_ctrl_c_in_activate_model_says_whether_the_version_is_registered_and_active(tmp_path, served, monkeypatch,
                                                                                      activated, left):
    from recognizer import release
    real_activate = release.activate

    def interrupted(version, **kwargs):
        if activated:
            real_activate(version, force=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(release, "activate", interrupted)
    again = tmp_path / "served-again.pt"
    shutil.copy(served, again)
    with pytest.raises(CommandError, match=f"^interrupted: {left}$"):
        call("activate_model", again)


@pytest.mark.trains
def test_ctrl_c_as_training_registers_its_version_says_it_is_registered(tmp_path, mnist_dir, monkeypatch):
    """Landing after the row was committed, before the command noted it, it said "registered as no model version"."""
    out = tmp_path / "new.pt"
    real_register = ModelVersion.objects.register

    def committed_then_interrupted(*args, **kwargs):
        real_register(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(ModelVersion.objects, "register", committed_then_interrupted)
    with pytest.raises(CommandError, match=f"^interrupted: {out} was saved and registered as model version new, "
                                           "which is not active$"):
        call("train", "--out", out, "--epochs", 1, "--train-limit", 100, "--threads", 1, "--data-dir", mnist_dir)


def test_force_without_activate_is_refused(tmp_path):
    """It was dropped without a word: the engineer thought the new model served, past the gate."""
    with pytest.raises(CommandError, match="--force serves the new version past the release gate, with --activate"):
        call("train", "--out", tmp_path / "new.pt", "--force", "--data-dir", tmp_path / "no-mnist")


@pytest.mark.parametrize("command", [
    ("train", "--out", "new.pt", "--no-register", "--stray-marks", 10), ("compare_levers", "--report-dir", "report"),
])
def test_non_digits_for_a_model_with_no_not_a_digit_output_are_refused_before_they_are_drawn(tmp_path, monkeypatch,
                                                                                             command):
    """train drew them all, then refused them; compare_levers draws 3,000 by default."""
    monkeypatch.setattr(recipe, "draw_extras", interrupt)
    with pytest.raises(CommandError, match='mnist-cnn-v1 has no "not a digit" output to learn the non-digits of '
                                           "--not-digits( and --stray-marks)?; leave them out, or train mnist-cnn-v2"):
        call(*[tmp_path / part if part in ("new.pt", "report") else part for part in command], "--architecture",
             "mnist-cnn-v1", "--not-digits", 100, "--data-dir", tmp_path / "no-mnist")


def test_a_reviewed_file_of_no_drawings_says_so(tmp_path, mnist_dir):
    """It said to set true labels in the admin, as if the database were read."""
    empty = tmp_path / "empty.npz"
    np.savez(empty, images=np.zeros((0, 28, 28), np.uint8), labels=np.zeros(0, np.int64))
    with pytest.raises(CommandError, match=f"^--reviewed-file {empty} holds no drawings; export reviewed ones"):
        call("train", "--reviewed-file", empty, "--out", tmp_path / "new.pt", "--data-dir", mnist_dir)


@pytest.mark.parametrize("older_than", ["nan", "inf", "-1"])
def test_an_age_that_is_not_a_number_of_minutes_is_refused(older_than):
    """NaN deleted nothing, since no file is older than it, and said it had found no orphans."""
    with pytest.raises(CommandError, match=f"--older-than must be zero or more minutes, not {float(older_than)}"):
        call("delete_orphan_drawings", "--older-than", older_than)


def test_a_source_directory_without_mnist_is_named_not_this_command_again(tmp_path):
    """It advised running fetch_mnist, the command just run."""
    with pytest.raises(CommandError) as refused:
        call("fetch_mnist", "--from", tmp_path, "--data-dir", tmp_path / "mnist")
    assert str(refused.value) == (f"{tmp_path}/train-images-idx3-ubyte[.gz] is missing. --from {tmp_path} must hold "
                                  "the four MNIST files as published (gzip-compressed or raw)")


def test_a_checkpoint_of_another_architecture_is_refused_in_a_line(tmp_path, settings):
    """torch's message said "size mismatch" once for each of some thirty tensors."""
    model, metadata = checkpoint.load(settings.MODELS_DIR / "mnist_cnn_v3.pt")
    path = tmp_path / "relabelled.pt"
    torch.save({"format": checkpoint.FORMAT_VERSION, "metadata": {**metadata, "architecture": "mnist-cnn-v4"},
                "state_dict": model.state_dict()}, path)
    with pytest.raises(checkpoint.CheckpointError) as refused:
        checkpoint.load(path)
    assert str(refused.value) == (f"{path}: weights do not fit mnist-cnn-v4, the architecture its metadata names: "
                                  f"31 of their tensors differ (the first: features.0.0.weight is (16, 1, 3, 3), not "
                                  f"(24, 1, 3, 3))")


@pytest.mark.parametrize("command, defaults", [
    ("compare_levers", ("epochs per lever (default 3)", "(default 10000)", "torch threads (default 1)")),
    ("compare_regularization", ("epochs per variant (default 20)", "(default all)", "(default all cores)")),
])
def test_a_training_command_s_help_names_the_budget_it_uses(command, defaults):
    """compare_levers trains 3 epochs on 10,000 images on one thread unless told otherwise; its help said 20,
    every image and every core, the train command's own defaults."""
    parser = load_command_class("recognizer", command).create_parser("manage.py", command)
    help_text = " ".join(parser.format_help().split())
    assert all(default in help_text for default in defaults), help_text


@pytest.mark.parametrize("command", ["train", "compare_levers"])
def test_start_from_reads_alike_in_each_command_s_help(command):
    parser = load_command_class("recognizer", command).create_parser("manage.py", command)
    assert "--start-from CHECKPOINT" in parser.format_help()
