"""Photos of written digits for the photo tests, and how the site reads them."""

import io

import numpy as np
from PIL import Image

from mlcore.datasets.photos_synth import SIZES, photograph
from mlcore.photo import photo_ink
from mlcore.preprocess import BlankDrawingError, to_mnist_input

# Digits 12 to 20 % of the frame's height, their pen thin at the working resolution: lighter than a
# punched hole, and thinner than the lines they join are judged on.
SMALL_THIN = (0.12, 0.2)


def read(images, predictor) -> np.ndarray:
    """The digit read from each photo's image as the site reads it (the model weighing the readings of a
    photo whose polarity is in doubt); -1 where no digit was found."""
    digits = []
    for image in images:
        try:
            mnist_input = to_mnist_input(image, photo=True, likeliest=predictor.likeliest_digit)
            digits.append(predictor.predict(mnist_input, photo=True).digit)
        except BlankDrawingError:
            digits.append(-1)
    return np.array(digits)


def paper_photos(mnist_test, first: int, count: int, seed: int, alter, sizes=SIZES) -> tuple[list, np.ndarray]:
    """Paper photos of `count` test digits from `first`, each altered by `alter(photo, rng)`, and their labels."""
    labels = mnist_test.labels[first:first + count]
    rng = np.random.default_rng(seed)
    return [alter(photograph(image, int(label), "paper", np.random.default_rng([seed, n]), sizes), rng)
            for n, (image, label) in enumerate(zip(mnist_test.images[first:first + count], labels))], labels


def ink_points(image: Image.Image) -> np.ndarray:
    """(x, y) of each pixel of the digit's ink that photo_ink finds, in the image's own pixels."""
    ink = photo_ink(image)
    ys, xs = np.nonzero(ink)
    return np.stack([xs, ys], axis=1) * (max(image.size) / max(ink.shape))


def cropped_to_the_digit(digit: np.ndarray, rng: np.random.Generator, chalk: bool = False) -> Image.Image:
    """A photo of a digit written with a felt pen (or with chalk on a board) and cropped to it: the
    digit fills about 70 % of the frame, its strokes a tenth of the frame wide, nearly as wide as
    the background's window."""
    side = int(rng.uniform(400, 800))
    strength = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    ink = np.clip((strength - rng.uniform(0.15, 0.35)) / 0.08 + 0.5, 0, 1)[..., np.newaxis] * rng.uniform(0.6, 0.9)
    paper = np.float32([40, 52, 46] if chalk else [225, 220, 205]) * rng.uniform(0.8, 1.05)
    pixels = paper + (np.float32([235, 235, 225]) - paper if chalk else -paper) * ink + rng.normal(0, 3, (side, side, 1))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=80)
    return Image.open(buffer)
