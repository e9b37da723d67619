"""Phone photos of written digits: lighting, shadows, ruled paper, boards, sideways storage."""

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from mlcore.photo import photo_ink
from mlcore.photos_synth import EXIF_ORIENTATION, VARIANTS, photograph, synthetic_photos
from mlcore.predict import Predictor
from mlcore.preprocess import BlankDrawingError, to_mnist_input

URL = "/api/predictions/"


@pytest.fixture(scope="module")
def predictor(shipped_model_path):
    return Predictor.from_checkpoint(shipped_model_path)


def read(photos, predictor) -> np.ndarray:
    """The digit read from each photo; -1 where no digit was found."""
    digits = []
    for photo in photos:
        try:
            digits.append(predictor.predict(to_mnist_input(photo.open(), photo=True)).digit)
        except BlankDrawingError:
            digits.append(-1)
    return np.array(digits)


def test_synthetic_photos_of_test_digits_are_read(mnist_test, predictor):
    """160 photos, 20 of each variant, of MNIST test digits: the digit small in a 1600x1200 frame."""
    indices = np.random.default_rng(11).choice(len(mnist_test.labels), size=160, replace=False)
    photos = synthetic_photos(mnist_test.images[indices], mnist_test.labels[indices], seed=11)
    right = read(photos, predictor) == mnist_test.labels[indices]
    # The goal is 97 %; benchmarks/photos.py measures it on more photos (README, "Photos").
    assert right.mean() >= 0.95, f"read {right.mean():.1%} of the photos right"
    for n, variant in enumerate(VARIANTS):
        # Sideways photos (deep shadow on a strong gradient) are the weak case, at about 75 %.
        assert right[n::len(VARIANTS)].mean() >= 0.7, f"{variant}: {right[n::len(VARIANTS)].mean():.0%}"


def test_today_s_drawing_preprocessing_fails_on_the_same_photos(mnist_test, predictor):
    """The photo path is what makes the difference: read as drawings, most photos are wrong."""
    photos = synthetic_photos(mnist_test.images[:40], mnist_test.labels[:40], seed=12)
    as_drawings = np.stack([to_mnist_input(photo.open()) for photo in photos])
    assert (predictor.probabilities(as_drawings).argmax(axis=1) == mnist_test.labels[:40]).mean() < 0.5


def stored_upright(photo) -> Image.Image:
    """The same photo with its pixels turned upright and no orientation tag."""
    upright = ImageOps.exif_transpose(photo.open())
    assert EXIF_ORIENTATION not in upright.getexif()
    return upright


@pytest.mark.parametrize("seed", range(3))
def test_sideways_photos_come_out_upright(mnist_test, seed):
    photo = photograph(mnist_test.images[seed], int(mnist_test.labels[seed]), "sideways",
                       np.random.default_rng(seed))
    stored = photo.open()
    assert stored.getexif()[EXIF_ORIENTATION] in (3, 6, 8)
    assert np.array_equal(photo_ink(stored), photo_ink(stored_upright(photo)))
    # Upright, the input looks like the digit; turned a quarter or half, it would not.
    x = to_mnist_input(stored, photo=True)
    digit = mnist_test.images[seed].astype(np.float32) / 255
    likeness = [np.corrcoef(x.ravel(), np.rot90(digit, k).ravel())[0, 1] for k in range(4)]
    assert int(np.argmax(likeness)) == 0, likeness


def test_blackboard_chalk_is_read_as_ink(mnist_test, predictor):
    photos = [photograph(image, int(label), "blackboard", np.random.default_rng([21, n]))
              for n, (image, label) in enumerate(zip(mnist_test.images[100:120], mnist_test.labels[100:120]))]
    assert all(np.median(np.asarray(photo.open().convert("L"))) < 100 for photo in photos)
    assert (read(photos, predictor) == mnist_test.labels[100:120]).mean() >= 0.9


@pytest.mark.parametrize("image", [
    Image.new("RGB", (1600, 1200), (240, 235, 220)),
    Image.new("L", (8, 8), 128),
    Image.new("RGB", (640, 480), "black"),
])
def test_blank_photos_are_refused(image):
    with pytest.raises(BlankDrawingError):
        to_mnist_input(image, photo=True)


@pytest.mark.django_db
def test_api_reads_an_uploaded_photo(client, mnist_test):
    photo = photograph(mnist_test.images[0], 7, "sideways", np.random.default_rng(5))
    upload = io.BytesIO(photo.jpeg)
    upload.name = "IMG_0001.jpg"
    response = client.post(URL, {"image": upload, "source": "upload"})
    assert response.status_code == 201, response.content
    assert response.json()["digit"] == 7 and response.json()["source"] == "upload"
