"""`python -m mlcore.training.sweep`: the served recipe's steps for several candidates, without Django."""

import argparse
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from mlcore import checkpoint
from mlcore.datasets.fonts import font_files
from mlcore.model import network
from mlcore.training import recipe, sweep


def test_a_candidate_is_an_architecture_and_a_seed():
    assert sweep.Candidate.parse("mnist-cnn-v4:3") == sweep.Candidate("mnist-cnn-v4", 3)
    assert sweep.Candidate("mnist-cnn-v4", 3).name == "v4-s3"
    for bad in ("mnist-cnn-v4", "mnist-cnn-v9:1", "mnist-cnn-v4:-1", "mnist-cnn-v4:one"):
        with pytest.raises(argparse.ArgumentTypeError, match="a candidate is ARCHITECTURE:SEED"):
            sweep.Candidate.parse(bad)


def test_the_first_step_is_as_long_as_the_deadline_allows():
    per_epoch = sweep.steps_per_epoch(60000, None, 1)
    assert per_epoch == -(-(55000 + 60000 + 300) // 64)
    later = 3 * per_epoch + 3 * sweep.steps_per_epoch(60000, 40000, 1)
    # A deadline that buys the later steps and 17.5 first epochs at 2 ms a batch: 17 of them.
    deadline = sweep.OVERHEAD_SECONDS + 0.002 * (later + 17.5 * per_epoch)
    assert sweep.first_epochs_for(0.002, deadline, 60000, 1) == 17
    assert sweep.first_epochs_for(1.0, deadline, 60000, 1) == sweep.FIRST_EPOCHS_RANGE[0]
    assert sweep.first_epochs_for(1e-6, deadline, 60000, 1) == sweep.FIRST_EPOCHS_RANGE[1]


def test_each_candidate_trains_the_three_steps_each_from_the_last(tmp_path, mnist_dir, font_dir, monkeypatch):
    first = recipe.SERVED_RECIPE.steps[0]
    monkeypatch.setattr(sweep, "SERVED_RECIPE", replace(
        recipe.SERVED_RECIPE, extras=recipe.Extras(drawn=100, styled=100, negatives=200),
        steps=(first, recipe.Step(epochs=1, lr=0.02), recipe.Step(epochs=1, lr=0.02, train_limit=100))))
    monkeypatch.setattr(recipe, "HELD_OUT_DRAWINGS", 200)
    options = sweep.SweepOptions(mnist_dir, tmp_path / "cache", tuple(font_files(font_dir)), tmp_path / "out", "cpu", 1,
                                 train_limit=300)

    saved = sweep.run(sweep.Candidate("mnist-cnn-v2", 4), 2, options)

    assert [p.rsplit("/", 1)[1] for p in saved] == ["v2-s4-step1.pt", "v2-s4-step2.pt", "v2-s4-step3.pt"]
    cards = [checkpoint.load(path)[1] for path in saved]
    assert [card["epochs"] for card in cards] == [2, 1, 1]
    assert [card["hyperparameters"]["lr"] for card in cards] == [first.lr, 0.02, 0.02]
    assert [card["training_set"]["mnist_images"] for card in cards] == [300, 300, 100]
    assert cards[0]["hyperparameters"]["elastic"] and not cards[1]["hyperparameters"]["elastic"]
    assert all(card["seed"] == 4 and card["device"] == "cpu" for card in cards)
    assert all(card["training_set"]["font_not_digits"] == 300 and "temperature" in card["calibration"]
               for card in cards)
    assert "fine_tuned_from" not in cards[0]
    for previous, card in zip(saved, cards[1:]):
        assert card["fine_tuned_from"] == {"path": previous.rsplit("/", 1)[1],
                                           "sha256": checkpoint.file_sha256(previous)}
    # Each step started from the last one's weights, not from scratch.
    first, second = (checkpoint.load(path)[0].state_dict() for path in saved[:2])
    fresh = network("mnist-cnn-v2").state_dict()

    def distance(a, b):
        return sum((a[name].float() - b[name].float()).norm().item() for name in a if name.endswith("weight"))

    assert 0 < distance(first, second) < distance(first, fresh) / 3


def test_an_accelerator_the_machine_lacks_is_refused_at_once(tmp_path, mnist_dir, font_dir):
    if torch.cuda.is_available():
        pytest.skip("this machine can train on cuda")
    finished = subprocess.run(
        [sys.executable, "-m", "mlcore.training.sweep", "--data-dir", str(mnist_dir), "--cache-dir", str(tmp_path),
         "--fonts", str(font_dir), "--out", str(tmp_path / "out"), "--candidate", "mnist-cnn-v4:1"],
        capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2
    assert "this machine has no cuda device to train on" in finished.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("change, message", [
    ({"--fonts": "/nonexistent/fonts"}, "/nonexistent/fonts is not a directory"),
    ({"--data-dir": "/nonexistent/mnist"}, "train-images-idx3-ubyte[.gz] is missing"),
    ({"--cache-dir": "FILE"}, "--cache-dir FILE is a file, not a directory"),
    ({"--out": "FILE"}, "--out FILE is a file, not a directory"),
    ({"--first-epochs": "0"}, "the first step's epochs are a whole number from 1, or auto"),
    ({"--threads": "0"}, "threads must be at least 1"),
    ({"--train-limit": "0"}, "--train-limit must be at least 1"),
    ({"--deadline": "-5"}, "--deadline must be a positive number of seconds"),
    ({"--candidate": "mnist-cnn-v4"}, "a candidate is ARCHITECTURE:SEED"),
    ({"--candidate": "mnist-cnn-v4:99999999999999999999"}, "seed must be at most"),
    ({"--device": "nosuch"}, "device must be a name such as cpu or cuda, not 'nosuch'"),
    ({"--deadline": "nan"}, "--deadline must be a positive number of seconds"),
])
def test_every_mistake_is_refused_before_any_candidate_starts(tmp_path, mnist_dir, font_dir, capsys, change, message):
    file = tmp_path / "a-file"
    file.write_text("not a directory")
    options = {"--data-dir": str(mnist_dir), "--cache-dir": str(tmp_path / "cache"), "--fonts": str(font_dir),
               "--out": str(tmp_path / "out"), "--device": "cpu", "--candidate": "mnist-cnn-v2:1"}
    options.update({name: str(file) if value == "FILE" else value for name, value in change.items()})
    with pytest.raises(SystemExit) as exit:
        sweep.main([part for pair in options.items() for part in pair])
    assert exit.value.code == 2
    assert message.replace("FILE", str(file)) in capsys.readouterr().err
    assert not (tmp_path / "out" / "sweep.json").exists()


def test_a_candidate_given_twice_is_refused(tmp_path, mnist_dir, font_dir, capsys):
    """Both processes trained the same model and wrote the same checkpoints."""
    with pytest.raises(SystemExit) as exit:
        sweep.main(["--data-dir", str(mnist_dir), "--cache-dir", str(tmp_path / "cache"), "--fonts", str(font_dir),
                    "--out", str(tmp_path / "out"), "--device", "cpu", "--candidate", "mnist-cnn-v4:1",
                    "--candidate", "mnist-cnn-v2:1", "--candidate", "mnist-cnn-v4:1"])
    assert exit.value.code == 2
    assert "--candidate mnist-cnn-v4:1 is given more than once" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
