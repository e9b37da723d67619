"""Accuracy and CPU cost of reading synthetic phone photos, per variant: as drawings, as photos, and unsaid.

    MNIST_DATA_DIR=../shared/mnist .venv/bin/python -m benchmarks.photos --count 400

Photos are made from MNIST test digits (mlcore.datasets.photos_synth); the model is the shipped one.
CPU is process time per photo, from the decoded image to the 28x28 input (JPEG decoding apart).
"unsaid" is a photo sent without saying what it is: read as a photo where its metadata names a
camera or its paper looks marked, as the API reads it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks import servers
from mlcore.datasets.photos_synth import SIZES, VARIANTS, synthetic_photos
from mlcore.exif import from_camera
from mlcore.mnist import load_split
from mlcore.predict import Predictor
from mlcore.preprocess import BlankDrawingError, read_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", type=float, nargs=2, default=SIZES, metavar=("SMALLEST", "LARGEST"),
                        help="the digit's box as a share of the frame's short side (default: %(default)s)")
    servers.use_site_settings()
    from django.conf import settings

    parser.add_argument("--model", default=settings.MNIST_MODEL_PATH, help="default: the site's (MNIST_MODEL_PATH)")
    args = parser.parse_args()

    test = load_split(settings.MNIST_DATA_DIR, "test")
    indices = np.random.default_rng(args.seed).choice(len(test.labels), size=args.count, replace=False)
    photos = synthetic_photos(test.images[indices], test.labels[indices], seed=args.seed, sizes=tuple(args.sizes))
    images = [photo.open() for photo in photos]
    decode = time.process_time()
    for image in images:
        image.load()
    decode = (time.process_time() - decode) / len(images)
    predictor = Predictor.from_checkpoint(args.model)

    print(f"{len(photos)} photos; JPEG decoding {1000 * decode:.1f} ms CPU per photo")
    print(f"{'preprocessing':<14}{'all':>7}" + "".join(f"{v:>11}" for v in VARIANTS) + "   CPU/photo")
    for name, photo in (("drawing", False), ("unsaid", None), ("photo", True)):
        right, spent = [], 0.0
        for image, item in zip(images, photos):
            start = time.process_time()
            try:
                said = True if photo is None and from_camera(image) else photo
                mnist_input, as_photo = read_image(image, photo=said, likeliest=predictor.likeliest_digit)
                digit = predictor.predict(mnist_input, photo=as_photo).digit
            except BlankDrawingError:
                digit = -1
            spent += time.process_time() - start
            right.append(digit == item.label)
        right = np.array(right)
        per_variant = [right[n::len(VARIANTS)] for n in range(len(VARIANTS))]
        # Fewer photos than variants leave some variants none: a dash, not "nan%" and numpy's warning.
        print(f"{name:<14}{right.mean():>7.1%}" + "".join(f"{a.mean():>11.1%}" if len(a) else f"{'-':>11}"
                                                          for a in per_variant)
              + f"   {1000 * spent / len(photos):.1f} ms")


if __name__ == "__main__":
    main()
