"""CPU time to decode and preprocess each crafted upload of tests/hostile.py, as the site does it.

    python -m benchmarks.decoding [--repeat 3]

Each file goes through recognizer.imaging.decode (the byte, structure and pixel limits, then
decoding) and, when accepted, the preprocessing and the re-encoding that is stored. Prints the
least CPU time (time.process_time) of `--repeat` runs, in milliseconds, and the outcome.
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
    "APNG, 2,000 frames": lambda: hostile.animated_png(2000),
    "APNG, 3,000 frames": lambda: hostile.animated_png(3000),
    "PNG whose EXIF block has 65,535 tags": lambda: hostile.with_exif(
        hostile.a_one(), hostile.exif_block(first_tags=65_535), "PNG"),
    "JPEG whose EXIF block has 5,400 tags (as many as 64 KiB holds)": lambda: hostile.with_exif(
        hostile.a_one(), hostile.exif_block(first_tags=5_400), "JPEG"),
}


def cost(content: bytes) -> tuple[float, float, str]:
    """CPU ms to decode and preprocess, CPU ms to encode what would be stored, and the outcome."""
    from mlcore.preprocess import BlankDrawingError, to_mnist_input
    from recognizer import imaging

    drawing, outcome = None, "decoded"
    started = time.process_time()
    try:
        drawing = imaging.decode(content)
        to_mnist_input(drawing.image)
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
    print("| crafted upload | bytes | decode + preprocess, CPU ms | re-encoding, CPU ms | outcome |")
    print("|---|---:|---:|---:|---|")
    for name, make in CRAFTED.items():
        content = make()
        runs = [cost(content) for _ in range(args.repeat)]
        print(f"| {name} | {len(content):,} | {min(r[0] for r in runs):.1f} | {min(r[1] for r in runs):.1f} | "
              f"{runs[0][2]} |")


if __name__ == "__main__":
    main()
