"""The evaluate and compare_regularization commands end to end, and the metrics they rest on."""

import json
import re
from io import StringIO

import numpy as np
import pytest
import torch
from django.conf import settings
from django.core.management import CommandError, call_command
from PIL import Image

from mlcore import checkpoint
from mlcore.datasets.fonts import NOT_DIGIT_CHARACTERS, SIZES, font_digits, font_files
from mlcore.datasets.negatives import not_digits
from mlcore.datasets.unseen import UNSEEN_KINDS
from mlcore.evaluate import answered_accuracy, evaluate, evaluate_split, measure_latency
from mlcore.labels import NOT_A_DIGIT
from mlcore.mnist import Split, load_split
from mlcore.predict import Predictor
from mlcore.training.train import VARIANTS
from recognizer.models import ModelVersion

from .block_counts import write_optdigits

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_valid_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.width > 200 and image.height > 200, (path, image.size)


def call(command, *args) -> str:
    out = StringIO()
    call_command(command, *map(str, args), stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def json_run(tmp_path_factory, shipped_model_path, mnist_dir, mnist_test, font_dir):
    report_dir = tmp_path_factory.mktemp("evaluation")
    optdigits = write_optdigits(tmp_path_factory.mktemp("optdigits") / "optdigits.tes", mnist_test.head(40))
    stdout = call("evaluate", "--model", shipped_model_path, "--data-dir", mnist_dir,
                  "--report-dir", report_dir, "--repeats", 50, "--drawn", 100, "--styled", 60, "--not-digits", 50,
                  "--fonts", font_dir, "--optdigits", optdigits, "--unseen", 5, "--json")
    return stdout, report_dir


def test_evaluate_json_is_one_object_with_the_summary(json_run, shipped_model_path):
    stdout, _ = json_run
    result = json.loads(stdout)  # fails if anything else is printed

    model, metadata = checkpoint.load(shipped_model_path)
    assert result["model"] == str(shipped_model_path)
    assert result["params"] == metadata["params"]
    # The same model on the same test set: the figure training recorded must come out again. Training
    # takes the likeliest of all outputs, so reading the likeliest digit alone is never worse, and
    # answering "not a digit" for some is never better.
    assert evaluate_split(model, load_split(settings.MNIST_DATA_DIR, "test"))[1] == pytest.approx(
        metadata["test_accuracy"], abs=1e-6)
    assert result["accuracy"] <= result["digit_accuracy"] >= metadata["test_accuracy"] - 1e-6
    assert result["misclassified"] == round((1 - result["digit_accuracy"]) * 10000)
    assert 0 <= result["ece"] < 0.05 and 0 <= result["not_a_digit_rate"] <= 0.01
    assert result["drawn"]["images"] == 100 and result["not_digits"]["images"] == 50
    assert result["styled"]["images"] == 60
    # Aileron's digits are plain and printed: the served model reads them all.
    assert result["fonts"]["images"] == 10 * len(SIZES) and result["fonts"]["accuracy"] == 1.0
    # Its letters and symbols are printed, not handwritten: the served model answers 85 of the 100 "not a digit".
    assert result["not_digits"]["fonts"]["images"] == len(NOT_DIGIT_CHARACTERS) * len(SIZES)
    assert result["not_digits"]["fonts"]["not_a_digit_rate"] >= 0.75
    # Every character at both sizes: the overall rate is the mean of the characters' rates.
    per_character = result["not_digits"]["fonts"]["per_character"]
    assert list(per_character) == list(NOT_DIGIT_CHARACTERS)
    assert sum(per_character.values()) / len(per_character) == pytest.approx(
        result["not_digits"]["fonts"]["not_a_digit_rate"])
    assert min(per_character.values()) < 1
    assert result["optdigits"]["images"] == 40 and result["optdigits"]["accuracy"] >= 0.8
    unseen = result["not_digits"]["unseen_kinds"]
    assert unseen["images"] == 5 * len(UNSEEN_KINDS) and list(unseen["per_kind"]) == list(UNSEEN_KINDS)
    assert 0 <= min(unseen["per_kind"].values()) <= unseen["not_a_digit_rate"] <= max(unseen["per_kind"].values())
    assert 0 < result["latency"]["single_image_median_ms"] <= result["latency"]["single_image_p95_ms"]
    assert result["latency"]["batch_throughput_per_s"] > 100
    assert len(result["per_digit"]) == 10


def test_evaluate_writes_a_consistent_report(json_run):
    _, report_dir = json_run
    report = json.loads((report_dir / "report.json").read_text())
    confusion = np.array(report["confusion"])

    assert confusion.shape == (10, 10) and confusion.sum() == 10000
    assert np.trace(confusion) / 10000 == pytest.approx(report["digit_accuracy"])
    assert len(report["misclassified_images"]) == report["misclassified"] == 10000 - np.trace(confusion)
    for row in report["per_digit"]:
        d = row["digit"]
        assert row["support"] == confusion[d].sum()
        assert row["recall"] == pytest.approx(confusion[d, d] / confusion[d].sum())
        assert row["precision"] == pytest.approx(confusion[d, d] / confusion[:, d].sum())
    for item in report["misclassified_images"]:
        assert item["true"] != item["predicted"] and 0.1 <= item["confidence"] <= 1
    assert_valid_png(report_dir / "confusion.png")
    assert_valid_png(report_dir / "misclassified.png")
    assert_valid_png(report_dir / "reliability.png")


def test_evaluate_metrics_on_a_split_with_known_answers(shipped_model_path, mnist_test):
    predictor = Predictor.from_checkpoint(shipped_model_path)
    head = mnist_test.head(300)
    predictions = evaluate(predictor, head).predictions
    # Relabel two images so the expected errors are known whatever the model gets right.
    labels = predictions.copy()
    labels[[3, 7]] = (predictions[[3, 7]] + 1) % 10
    evaluation = evaluate(predictor, Split(head.images, labels))

    assert evaluation.misclassified.tolist() == [3, 7]
    assert evaluation.digit_accuracy == pytest.approx(298 / 300)
    assert evaluation.confusion.sum() == 300 and np.trace(evaluation.confusion) == 298
    assert evaluation.confusion[labels[3], predictions[3]] >= 1
    assert evaluation.precision[predictions[3]] < 1 and evaluation.recall[labels[3]] < 1
    assert ((0.1 <= evaluation.confidences) & (evaluation.confidences <= 1)).all()


def test_evaluate_reads_a_split_with_non_digits(shipped_model_path, mnist_test):
    """A drawing that is no digit (label 10) is answered right by "not a digit"; the digit figures are over the
    digits alone."""
    predictor = Predictor.from_checkpoint(shipped_model_path)
    digits = mnist_test.head(200)
    drawings = not_digits(100, seed=7, digits=mnist_test.images)
    split = Split(np.concatenate([digits.images, drawings]),
                  np.concatenate([digits.labels, np.full(len(drawings), NOT_A_DIGIT)]))
    evaluation = evaluate(predictor, split)
    answers, _ = predictor.answers(split.images)

    assert (answers[200:] == NOT_A_DIGIT).sum() > 80
    assert evaluation.answered.accuracy == pytest.approx((answers == split.labels).mean())
    assert evaluation.answered.accuracy == answered_accuracy(predictor, split)
    of_digits = evaluate(predictor, digits)
    assert np.array_equal(evaluation.confusion, of_digits.confusion)
    assert evaluation.misclassified.tolist() == of_digits.misclassified.tolist()
    assert evaluation.digit_accuracy == of_digits.digit_accuracy
    assert evaluation.digit_ece == of_digits.digit_ece
    assert evaluation.loss == pytest.approx(of_digits.loss)


def test_font_digits_are_each_digit_at_each_size(font_dir, shipped_model_path):
    images, labels = font_digits(font_files(font_dir), seed=3)

    assert images.shape == (10 * len(SIZES), 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == list(range(10)) * len(SIZES)
    # Normalised like a drawing: the ink's box is 20 pixels on its long side.
    for image in images:
        rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
        assert image.max() > 200 and 19 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21
    predicted, _ = Predictor.from_checkpoint(shipped_model_path).answers(images)
    assert (predicted == labels).all(), (predicted, labels)


def test_evaluate_font_problems_are_command_errors(tmp_path, mnist_dir, shipped_model_path):
    common = ("--model", shipped_model_path, "--data-dir", mnist_dir, "--report-dir", tmp_path / "report")
    with pytest.raises(CommandError, match="not a directory"):
        call("evaluate", *common, "--fonts", tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("no fonts here")
    with pytest.raises(CommandError, match="no font files"):
        call("evaluate", *common, "--fonts", tmp_path)
    (tmp_path / "broken.ttf").write_bytes(b"\x00\x01\x00\x00 not a font")
    with pytest.raises(CommandError, match="cannot read the font .*broken.ttf"):
        call("evaluate", *common, "--fonts", tmp_path)
    assert not (tmp_path / "report").exists()


def test_evaluate_reads_an_optdigits_file_or_says_why_not(tmp_path, mnist_dir, mnist_test, shipped_model_path):
    common = ("--model", shipped_model_path, "--data-dir", mnist_dir, "--report-dir", tmp_path / "report",
              "--repeats", 1, "--drawn", 0, "--styled", 0, "--not-digits", 0, "--unseen", 0)
    with pytest.raises(CommandError, match="cannot read the optdigits file"):
        call("evaluate", *common, "--optdigits", tmp_path / "missing.tes")
    (tmp_path / "scores.csv").write_text("name,score\nada,3\n")
    with pytest.raises(CommandError, match="line 1: 2 values, not 64 counts and a label"):
        call("evaluate", *common, "--optdigits", tmp_path / "scores.csv")
    assert not (tmp_path / "report").exists()

    optdigits = write_optdigits(tmp_path / "optdigits.tes", mnist_test.head(30))
    report = call("evaluate", *common, "--optdigits", optdigits)
    assert re.search(r"optdigits set \(30 digits of UCI's writers, as 8x8 block counts\): answered right 0\.\d{4}",
                     report)
    assert re.search(r"; ECE over the digits \d+\.\d\d% \(15 bins\)\n", report)
    # The served pair, which its header called "variant none, 0 epochs".
    assert "143,430 parameters, 2 networks read together" in report


def test_evaluate_bad_model_path_is_a_command_error(tmp_path, mnist_dir):
    with pytest.raises(CommandError, match="does not exist"):
        call("evaluate", "--model", tmp_path / "absent.pt", "--data-dir", mnist_dir, "--report-dir", tmp_path)
    (tmp_path / "folder.pt").mkdir()
    with pytest.raises(CommandError, match="is a directory, not a checkpoint"):
        call("evaluate", "--model", tmp_path / "folder.pt", "--data-dir", mnist_dir, "--report-dir", tmp_path)


@pytest.mark.parametrize("option, value, message", [
    ("--not-digits", 10 ** 12, "--styled and --not-digits 0 to 100000"),
    ("--styled", -1, "--styled and --not-digits 0 to 100000"),
    ("--unseen", 10 ** 6, "--unseen must be 0 to 10000"),
])
def test_evaluate_sizes_out_of_bounds_are_command_errors(tmp_path, mnist_dir, shipped_model_path, option, value,
                                                         message):
    with pytest.raises(CommandError, match=message):
        call("evaluate", "--model", shipped_model_path, "--data-dir", mnist_dir, option, value,
             "--report-dir", tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_evaluate_corrupt_checkpoint_is_a_command_error(tmp_path, mnist_dir, shipped_model_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(shipped_model_path.read_bytes()[:5000])
    with pytest.raises(CommandError, match="not a readable checkpoint"):
        call("evaluate", "--model", corrupt, "--data-dir", mnist_dir, "--report-dir", tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_evaluate_missing_data_is_a_command_error(tmp_path, shipped_model_path):
    with pytest.raises(CommandError, match="t10k-images-idx3-ubyte.*is missing"):
        call("evaluate", "--model", shipped_model_path, "--data-dir", tmp_path, "--report-dir", tmp_path / "r")


@pytest.mark.trains
@pytest.mark.django_db
def test_compare_regularization_on_a_tiny_budget(tmp_path, mnist_dir):
    report_dir = tmp_path / "study"
    stdout = call("compare_regularization", "--epochs", 1, "--train-limit", 1000, "--threads", 1,
                  "--data-dir", mnist_dir, "--report-dir", report_dir, "-v", "0")

    results = json.loads((report_dir / "results.json").read_text())
    assert [v["variant"] for v in results["variants"]] == list(VARIANTS)
    markdown = (report_dir / "report.md").read_text()
    rows = re.findall(r"^\| (no regularisation|L1|L2|L1 \+ L2) \| ([\d.]+)% \|", markdown, re.MULTILINE)
    assert [name for name, _ in rows] == ["no regularisation", "L1", "L2", "L1 + L2"]
    for variant, (_, percent) in zip(results["variants"], rows):
        assert float(percent) == pytest.approx(100 * variant["test_accuracy"], abs=0.006)
        assert variant["test_accuracy"] > 0.3, "even 1,000 images for one epoch learn something"
        model, metadata = checkpoint.load(report_dir / variant["checkpoint"])
        assert metadata["variant"] == variant["variant"] and metadata["seed"] == 1
        assert metadata["train_images"] == 1000
        assert_valid_png(report_dir / variant["gallery"])
        assert f"]({variant['gallery']})" in markdown
    assert_valid_png(report_dir / "curves.png")
    assert "](curves.png)" in markdown
    assert "99.36%" in markdown and "short of the original study's best" in markdown
    assert f"best: " in stdout and str(report_dir / "report.md") in stdout


@pytest.mark.django_db
def test_compare_regularization_bad_options_are_command_errors(tmp_path, mnist_dir):
    with pytest.raises(CommandError, match="epochs must be at least 1"):
        call("compare_regularization", "--epochs", 0, "--data-dir", mnist_dir, "--report-dir", tmp_path)
    with pytest.raises(CommandError, match="is missing"):
        call("compare_regularization", "--epochs", 1, "--data-dir", tmp_path / "nowhere", "--report-dir", tmp_path)


@pytest.mark.django_db
def test_compare_regularization_writes_over_no_registered_version(tmp_path, mnist_dir, shipped_model_path):
    """Its checkpoints are named after the variants: a version registered as l2.pt in the report's
    folder was replaced, and every worker then refused its changed file."""
    served = tmp_path / "l2.pt"
    served.write_bytes(shipped_model_path.read_bytes())
    ModelVersion.objects.register(served, name="l2")
    with pytest.raises(CommandError, match=rf"{re.escape(str(served))} is the file of model version 'l2'"):
        call("compare_regularization", "--epochs", 1, "--data-dir", mnist_dir, "--report-dir", tmp_path)
    assert served.read_bytes() == shipped_model_path.read_bytes()


def test_evaluate_leaves_out_the_fonts_the_model_was_trained_on(tmp_path, mnist_dir, font_dir):
    # The original model: a fifth of the served pair's cost to read MNIST test with, twice.
    model, metadata = checkpoint.load(settings.MODELS_DIR / "mnist_cnn.pt")
    training_set = {**metadata.get("training_set", {}), "fonts": ["aileron.ttf"]}
    trained = checkpoint.save(tmp_path / "trained-on-aileron.pt", model, {**metadata, "training_set": training_set})
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "aileron.ttf").write_bytes((font_dir / "aileron.ttf").read_bytes())
    common = ("--model", trained, "--data-dir", mnist_dir, "--report-dir", tmp_path / "report", "--repeats", 1,
              "--drawn", 0, "--styled", 0, "--not-digits", 0, "--unseen", 0, "--fonts", fonts)
    with pytest.raises(CommandError, match="trained on every font"):
        call("evaluate", *common)

    # The same glyphs under another name are a font the card does not name: measured, and only it.
    (fonts / "unseen.ttf").write_bytes((font_dir / "aileron.ttf").read_bytes())
    result = json.loads(call("evaluate", *common, "--json"))
    assert result["fonts_left_out"] == ["aileron.ttf"]
    assert result["fonts"]["images"] == 10 * len(SIZES)
    assert result["not_digits"]["fonts"]["images"] == len(NOT_DIGIT_CHARACTERS) * len(SIZES)
    text = call("evaluate", *common)
    assert "fonts left out, the model was trained on them: aileron.ttf" in text
    # v1 cannot say "not a digit": every character is caught 0 % of the time, and the first six are named.
    weakest = ", ".join(f"{character} 0%" for character in NOT_DIGIT_CHARACTERS[:6])
    assert f'answered "not a digit" 0.00% (the least often: {weakest})' in text


def test_latency_is_timed_on_the_threads_asked_for_and_leaves_the_process_on_its_own(shipped_model_path, mnist_test):
    predictor = Predictor.from_checkpoint(shipped_model_path)
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        latency = measure_latency(predictor, mnist_test.images[:20], repeats=5, batch_size=20, batch_repeats=1,
                                  warmup=1, threads=1)
        assert latency.threads == 1 and torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
