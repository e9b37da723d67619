"""Not a digit, honest confidence, other hands: the generators, calibration and the served model's rates."""

import io

import numpy as np
import pytest
import torch
from django.conf import settings
from django.core.management import call_command

from mlcore.calibrate import choose_threshold, expected_calibration_error, fit_temperature, negative_log_likelihood
from mlcore.datasets.drawn import digit_strokes, draw, drawn_digits, place
from mlcore.datasets.hand import deform
from mlcore.datasets.negatives import GLYPHS, KINDS, MARKS, NOT_DIGIT_HEIGHTS, SHAPES, not_digits, stray_marks
from mlcore.datasets.unseen import UNSEEN_KINDS, unseen_not_digits
from mlcore.labels import NOT_A_DIGIT
from mlcore.predict import logits_of
from mlcore.predict import Predictor
from mlcore.preprocess import to_mnist_input
from mlcore.render import render_strokes
from mlcore.training.recipe import HELD_OUT_SEED, split_off
from recognizer.datasets import load_reviewed
from recognizer.models import Prediction

from .drawings import encode
from .reviewing import record_drawing, redraw_as


def test_not_digits_are_model_inputs_of_every_kind(mnist_train):
    count = 2 * len(KINDS)
    drawings = not_digits(count, seed=3, digits=mnist_train.images[:100])
    assert drawings.shape == (count, 28, 28) and drawings.dtype == np.uint8
    # Every drawing holds ink, normalised like MNIST: the strongest pixel is full ink.
    assert (drawings.reshape(count, -1).max(axis=1) == 255).all()
    assert len({d.tobytes() for d in drawings}) == count


def test_not_digits_depend_on_the_seed_alone():
    assert np.array_equal(not_digits(5, seed=7), not_digits(5, seed=7))
    assert not np.array_equal(not_digits(5, seed=7), not_digits(5, seed=8))
    # A longer run starts with the shorter one, so a cached larger set serves smaller requests.
    assert np.array_equal(not_digits(7, seed=7)[:5], not_digits(5, seed=7))


def test_stray_marks_are_a_kind_apart_from_the_held_out_six():
    """Stray marks train only when asked for: the held-out non-digits every model is measured on keep
    the six kinds, and a mark is strokes no template holds."""
    assert MARKS not in KINDS
    assert np.array_equal(not_digits(12, seed=4), not_digits(12, seed=4, kinds=KINDS))
    rng = np.random.default_rng(0)
    counts = [len(stray_marks(rng)) for _ in range(200)]
    assert set(counts) == {2, 3, 4}
    marks = not_digits(30, seed=4, kinds=(MARKS,))
    assert marks.shape == (30, 28, 28) and (marks.reshape(30, -1).max(axis=1) == 255).all()
    assert np.array_equal(marks, not_digits(30, seed=4, kinds=(MARKS,)))
    assert len({m.tobytes() for m in marks}) == 30
    with pytest.raises(ValueError, match="marks"):
        not_digits(1, kinds=("glyph",))


def test_not_digits_refuse_a_negative_count():
    assert not_digits(0).shape == (0, 28, 28)
    with pytest.raises(ValueError, match="at least 0"):
        not_digits(-1)


def test_drawn_digits_keep_labels_and_are_reproducible(mnist_test):
    images, labels = drawn_digits(mnist_test.images[:6], mnist_test.labels[:6], seed=1)
    again, _ = drawn_digits(mnist_test.images[:6], mnist_test.labels[:6], seed=1)
    assert images.shape == (6, 28, 28) and images.dtype == np.uint8
    assert np.array_equal(labels, mnist_test.labels[:6]) and np.array_equal(images, again)
    assert not np.array_equal(images, mnist_test.images[:6])


def test_a_zero_is_traced_as_a_closed_stroke(mnist_test):
    zero = mnist_test.images[np.flatnonzero(mnist_test.labels == 0)[0]]
    strokes = digit_strokes(zero)
    longest = max(strokes, key=len)
    assert len(longest) > 10
    assert np.linalg.norm(longest[0] - longest[-1]) < 0.15   # it comes back round to where it began


def test_drawn_digits_are_read_right_like_the_rendered_drawings(mnist_test, predictor):
    """The same bar as tests/test_preprocess.py sets for MNIST digits rendered as images: 98 %."""
    rng = np.random.default_rng(0)
    indices = rng.choice(len(mnist_test.labels), size=200, replace=False)
    images, labels = drawn_digits(mnist_test.images[indices], mnist_test.labels[indices], seed=5)
    answers = [predictor.predict(image / 255.0) for image in images]
    right = np.mean([answer.digit == label for answer, label in zip(answers, labels)])
    assert right >= 0.98, f"read {right:.1%} of the drawn digits right"


def test_held_out_non_digits_are_answered_null(mnist_train, predictor):
    held = split_off(mnist_train)[1]
    drawings = not_digits(250, seed=HELD_OUT_SEED + 1000, digits=held.images)
    null = predictor.is_not_a_digit(predictor.scores(drawings)[1])
    # The goal is 95 %; the served model catches about 96 % of 1,000 such drawings (README).
    assert null.mean() >= 0.92, f"only {null.mean():.1%} of the held-out non-digits answered null"


DOODLES = ("stick figure", "flower", "tree", "moon", "fish", "eye", "umbrella", "face", "cup", "ladder")


def test_doodles_are_answered_null(predictor):
    """What people draw when they are not writing a digit. The previous model, which never saw
    them, caught about 70 %; a flower, a tree or a moon it read as a 9, a 4 or an 8."""
    rng = np.random.default_rng(HELD_OUT_SEED + 2000)
    drawings = np.stack([draw(place(deform(SHAPES[DOODLES[n % len(DOODLES)]], rng), rng,
                                    height_range=NOT_DIGIT_HEIGHTS), rng) for n in range(100)])
    null = predictor.is_not_a_digit(predictor.scores(drawings)[1])
    assert null.mean() >= 0.85, f"only {null.mean():.0%} of the doodles answered null"


def test_unseen_kinds_are_none_the_generators_draw_and_are_measured_apart(predictor):
    """The probe of the unforeseen: none of its kinds is a letter, symbol or shape the non-digits are
    made of; the served model catches about 64 % of them (README), against 95 % of the generator's own."""
    assert not set(UNSEEN_KINDS) & (set(GLYPHS) | set(SHAPES))
    drawings, kinds = unseen_not_digits(20, seed=7)
    assert drawings.shape == (20 * len(UNSEEN_KINDS), 28, 28) and drawings.dtype == np.uint8
    assert kinds.tolist() == [kind for kind in UNSEEN_KINDS for _ in range(20)]
    assert (drawings.reshape(len(drawings), -1).max(axis=1) > 200).all()
    assert np.array_equal(drawings, unseen_not_digits(20, seed=7)[0])
    null = predictor.is_not_a_digit(predictor.scores(drawings)[1])
    assert null.mean() >= 0.4, f"only {null.mean():.0%} of the unseen kinds answered null"
    with pytest.raises(ValueError, match="at least 0"):
        unseen_not_digits(-1)


def test_real_digits_are_rarely_answered_null(mnist_test, predictor):
    null = predictor.is_not_a_digit(predictor.scores(mnist_test.images[:3000])[1])
    assert null.mean() <= 0.005, f"{null.mean():.2%} of MNIST test digits answered null"


def test_the_answer_and_its_probabilities(mnist_test, predictor):
    answer = predictor.predict(render_input(GLYPHS["#"]))
    assert answer.digit is None and answer.confidence == answer.not_a_digit >= predictor.threshold
    assert len(answer.probabilities) == 10 and abs(sum(answer.probabilities) - 1) < 1e-9
    seven = predictor.predict(mnist_test.images[0] / 255.0)
    assert seven.digit == 7 and seven.confidence == max(seven.probabilities)


def render_input(strokes):
    centred = [[(0.25 + 0.5 * x, 0.2 + 0.6 * y) for x, y in stroke] for stroke in strokes]
    return to_mnist_input(render_strokes(centred))


def test_ece_of_a_known_case():
    # Two bins used: 0.9 confident, 3 of 4 right (gap 0.15); 0.3 confident, 1 of 2 right (gap 0.2).
    confidences = np.array([0.9, 0.9, 0.9, 0.9, 0.3, 0.3])
    correct = np.array([1, 1, 1, 0, 1, 0])
    assert expected_calibration_error(confidences, correct) == pytest.approx(4 / 6 * 0.15 + 2 / 6 * 0.2)
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([1, 0])) == pytest.approx(0.0)
    right_four_in_five = np.arange(1000) % 5 != 0
    assert expected_calibration_error(np.full(1000, 0.8), right_four_in_five) == pytest.approx(0.0)
    assert expected_calibration_error(np.full(1000, 0.99), right_four_in_five) == pytest.approx(0.19)


def test_temperature_fitted_on_one_half_lowers_the_nll_of_the_other():
    # Labels drawn from the softmax of honest logits: calibrated at temperature 1, so logits
    # four times larger are calibrated at about 4.
    generator = torch.Generator().manual_seed(0)
    honest = torch.randn(4000, 11, generator=generator) * 2
    labels = torch.multinomial(torch.softmax(honest[:, :10], dim=1), 1, generator=generator).squeeze(1)
    overconfident = honest * 4
    temperature = fit_temperature(overconfident[:2000], labels[:2000])
    assert 3.0 < temperature < 5.0
    assert (negative_log_likelihood(overconfident[2000:], labels[2000:], temperature)
            < negative_log_likelihood(overconfident[2000:], labels[2000:]))


def test_the_threshold_keeps_the_allowed_share_of_digits():
    scores = np.linspace(0, 0.99, 1000)
    threshold = choose_threshold(scores, max_false_not_a_digit=0.01)
    assert (scores >= threshold).sum() == 10
    assert choose_threshold(np.zeros(100)) == 0.5


def test_calibration_is_stored_and_applied(predictor, mnist_test):
    calibration = predictor.metadata["calibration"]
    assert predictor.temperature == calibration["temperature"] != 1.0
    assert calibration["held_out_nll_after"] < calibration["held_out_nll_before"]
    logits = logits_of(predictor.model, mnist_test.images[:50])
    expected = torch.softmax(logits[:, :NOT_A_DIGIT] / calibration["temperature"], dim=1).numpy()
    assert np.allclose(predictor.probabilities(mnist_test.images[:50]), expected, atol=1e-5)


def test_ten_output_checkpoints_always_answer_a_digit():
    original = Predictor.from_checkpoint(settings.BASE_DIR / "models" / "mnist_cnn.pt")
    assert original.predict(render_input(GLYPHS["#"])).digit is not None


@pytest.mark.django_db
def test_the_api_answers_null_for_a_letter(client):
    image = render_strokes([[(0.25 + 0.5 * x, 0.15 + 0.7 * y) for x, y in stroke] for stroke in GLYPHS["A"]],
                           side=280)
    response = client.post("/api/predictions/", {"image": named(encode(image.convert("RGB")))})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["digit"] is None
    assert len(body["probabilities"]) == 10 and len(body["top3"]) == 3
    row = Prediction.objects.get(pk=body["id"])
    assert row.digit is None and row.answered_label == NOT_A_DIGIT


def named(content: bytes):
    upload = io.BytesIO(content)
    upload.name = "drawing.png"
    return upload


@pytest.mark.django_db
def test_feedback_and_review_take_not_a_digit_as_label_10(client, tmp_path):
    image = render_strokes([[(0.3 + 0.4 * x, 0.2 + 0.6 * y) for x, y in stroke] for stroke in GLYPHS["#"]])
    created = client.post("/api/predictions/", {"image": named(encode(image.convert("RGB")))}).json()
    secret = {"HTTP_X_DRAWING_SECRET": created.get("secret", "")}
    url = f"/api/predictions/{created['id']}/feedback/"
    assert client.post(url, {"label": 10}, content_type="application/json", **secret).status_code == 200
    assert client.post(url, {"label": 11}, content_type="application/json", **secret).status_code == 400
    row = Prediction.objects.get(pk=created["id"])
    assert row.reported_label == NOT_A_DIGIT
    row.true_label = NOT_A_DIGIT
    row.save()
    assert row.is_correct and not Prediction.objects.wrong().exists()
    out = tmp_path / "reviewed.npz"
    call_command("export_reviewed", "--out", str(out), stdout=io.StringIO())
    assert load_reviewed(out).labels.tolist() == [NOT_A_DIGIT]


@pytest.mark.django_db
def test_a_redrawn_record_answers_as_its_new_drawing(mnist_test, isolated_media):
    """The answer as a label is a column the database derives, which an update does not bring back: the
    record still read 7 once redrawn as a 1."""
    labels = list(mnist_test.labels)
    row = record_drawing(mnist_test.images[labels.index(7)])
    assert row.answered_label == 7
    redraw_as(row, mnist_test.images[labels.index(1)])
    assert row.digit == row.answered_label == 1 and str(row).startswith("1 ")
    assert (row.answered_label, row.tier) == Prediction.objects.values_list("answered_label", "tier").get(pk=row.pk)
