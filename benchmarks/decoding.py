"""CPU time to decode and preprocess each crafted upload of tests/hostile.py, as the site does it.

    python -m benchmarks.decoding [--repeat 3]

Each file goes through recognizer.imaging.decode (the byte, structure and pixel limits, then
decoding) and, when accepted, the preprocessing, read each way the API reads an image (as a
drawing, as its paper says, as a photo), and the re-encoding that is stored. Prints the least CPU
time (time.process_time) of `--repeat` runs, in milliseconds, and the outcome.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import servers  # noqa: E402 - needs the project on the path
from tests import hostile  # noqa: E402

CRAFTED = {
    "progressive JPEG, 4000x4000, 1,000 scans": lambda: hostile.progressive_jpeg(4000, 1000),
    "progressive JPEG, 4000x4000, 10 scans (the most allowed)": lambda: hostile.progressive_jpeg(4000, 10),
    "PNG with 150,000 empty chunks": lambda: hostile.png_with_empty_chunks(150_000),
    "PNG declaring 4096x4096 RGBA, maximally compressed": lambda: hostile.huge_png(4096, "RGBA"),
    "PNG 2048x2048 RGBA (the largest decoded size allowed)": lambda: hostile.huge_png(2048, "RGBA"),
    "PNG 4096x4096 grey": lambda: hostile.huge_png(4096, "L"),
    "PNG 4096x4096 1-bit noise": lambda: hostile.one_bit_noise(4096),
    "PNG 4096x4096 palette": lambda: hostile.huge_png(4096, "P"),
    "JPEG 4096x4096 (decoded at 1/8 scale)": lambda: hostile.huge_jpeg(4096),
    "a photo of noise, 2600x1950, progressive": lambda: hostile.noisy_photo(progressive=True),
    "a photo of noise, 2600x1950, baseline": lambda: hostile.noisy_photo(progressive=False),
    "a photo of noise at the byte limit, 4500x3400, baseline": lambda: hostile.noisy_photo(4500, 3400, False),
    "JPEG 8192x8192 (decoded at 1/8 scale)": lambda: hostile.huge_jpeg(8192),
    "progressive JPEG, 8192x8192, 2 scans": lambda: hostile.progressive_jpeg(8192, 2),
    "WebP of noise, 1600x1600 (the most pixels a WebP may have), at quality 100": lambda: hostile.noisy_webp(),
    "a close-up digit over a grid of 1,936 dots, 1024x1024 PNG": lambda: hostile.dotted_close_up(),
    "animated WebP of 140 bytes declaring a 1700x1600 canvas": lambda: hostile.webp_declaring(1700, 1600),
    "APNG, 2,000 frames": lambda: hostile.animated_png(2000),
    "APNG, 3,000 frames": lambda: hostile.animated_png(3000),
    "PNG whose EXIF block has 65,535 tags": lambda: hostile.with_exif(
        hostile.a_one(), hostile.exif_block(first_tags=65_535), "PNG"),
    "JPEG whose EXIF block has 5,400 tags (as many as 64 KiB holds)": lambda: hostile.with_exif(
        hostile.a_one(), hostile.exif_block(first_tags=5_400), "JPEG"),
    "PNG whose EXIF orientation, make and model are 1.2 million fractions": lambda: hostile.with_exif(
        hostile.a_one(), hostile.exif_of_fractions((0x0112, 0x010F, 0x0110), 1_200_000), "PNG"),
    "WebP whose EXIF orientation, make and model are 1.2 million fractions": lambda: hostile.with_exif(
        hostile.a_one(), hostile.exif_of_fractions((0x0112, 0x010F, 0x0110), 1_200_000), "WEBP"),
    "PNG with 4,000 ICC profiles, each inflating to 1 MiB": lambda: hostile.png_with_inflating_chunks(b"iCCP", 4000),
    "PNG with 8 ICC profiles (the most allowed)": lambda: hostile.png_with_inflating_chunks(b"iCCP", 8),
    "PNG with 4,000 compressed texts not in UTF-8": lambda: hostile.png_with_inflating_chunks(b"iTXt", 4000),
    "JPEG with 9,900 EXIF segments of 1 KiB": lambda: hostile.jpeg_with_segments(
        0xE1, b"Exif\0\0" + b"A" * 1024, 9900),
    "JPEG with 4 EXIF segments of 64 KiB (the most allowed)": lambda: hostile.jpeg_with_segments(
        0xE1, b"Exif\0\0" + b"A" * 65_000, 4),
    "JPEG with 10 MB of quantization tables": lambda: hostile.jpeg_with_segments(
        0xDB, b"".join(bytes([n % 4]) + bytes(range(1, 65)) for n in range(1000)), 158),
    "JPEG whose header is 5,000,000 restart markers": lambda: hostile.jpeg_with_restart_markers(5_000_000),
}


# How the API reads an image: as a drawing (strokes' rendering, `source: "canvas"` PNGs), as its
# paper says (`source` left out), as a photo (`source: "upload"`).
READINGS = {"drawing": False, "unsaid": None, "upload": True}


def cost(content: bytes, photo: bool | None, likeliest) -> tuple[float, float, str]:
    """CPU ms to decode and preprocess read as `photo` says, CPU ms to encode what would be stored, and the outcome."""
    from mlcore.preprocess import BlankDrawingError, to_mnist_input
    from recognizer import imaging

    drawing, outcome = None, "decoded"
    started = time.process_time()
    try:
        drawing = imaging.decode(content)
        to_mnist_input(drawing.image, photo=photo, likeliest=likeliest)
    except imaging.ImageRejected as exc:
        outcome = f"refused: {exc}"
    except BlankDrawingError as exc:
        outcome = f"decoded, then {exc}"
    decoded = time.process_time()
    if drawing is not None:
        drawing.content  # the bytes to store are encoded on first use
    return 1000 * (decoded - started), 1000 * (time.process_time() - decoded), outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    servers.use_site_settings()
    from django.conf import settings

    import torch

    from mlcore.predict import Predictor

    # On the threads a worker gives torch (recognizer.inference.warm_up): idle threads spinning beside a
    # busy machine would count as CPU time of their own.
    torch.set_num_threads(settings.INFERENCE_THREADS)
    # A photo read more than one way is judged by the served model, as the API does.
    likeliest = Predictor.from_checkpoint(settings.MNIST_MODEL_PATH).likeliest_digit
    print("| crafted upload | bytes | decode + preprocess, CPU ms: " + " / ".join(READINGS) +
          " | re-encoding, CPU ms | outcome as a drawing |")
    print("|---|---:|---:|---:|---|")
    for name, make in CRAFTED.items():
        content = make()
        runs = {reading: [cost(content, photo, likeliest) for _ in range(args.repeat)]
                for reading, photo in READINGS.items()}
        decoding = " / ".join(f"{min(r[0] for r in reading_runs):.1f}" for reading_runs in runs.values())
        stored = min(r[1] for reading_runs in runs.values() for r in reading_runs)
        print(f"| {name} | {len(content):,} | {decoding} | {stored:.1f} | {runs['drawing'][0][2]} |")


if __name__ == "__main__":
    main()
