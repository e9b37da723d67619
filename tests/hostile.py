"""Uploads crafted to cost a server as much CPU as possible while staying within the size limits."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw

from .drawings import encode


def progressive_jpeg(side: int = 4000, scans: int = 1000) -> bytes:
    """A flat progressive JPEG whose last scan is repeated until it has `scans` scans.

    Each repeat makes the decoder walk every block of the picture again: a small file, a
    full-size decode per scan.
    """
    buffer = io.BytesIO()
    Image.new("L", (side, side), 200).save(buffer, "JPEG", progressive=True, quality=90)
    content = buffer.getvalue()
    # FF DA cannot occur inside entropy-coded data (an FF there is always followed by 00 or a
    # restart marker), so the last one starts the last scan, which runs to the EOI marker.
    last = content.rindex(b"\xff\xda")
    return content[:last] + content[last:-2] * (scans - content.count(b"\xff\xda") + 1) + content[-2:]


def png_chunk(kind: bytes, data: bytes = b"") -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_empty_chunks(count: int = 150_000) -> bytes:
    """A small drawing whose image data is split by `count` empty IDAT chunks."""
    content = encode(Image.new("L", (64, 64), 255))
    iend = content.rindex(b"IEND") - 4
    idat = content.index(b"IDAT") - 4
    return content[:idat] + png_chunk(b"IDAT") * count + content[idat:iend] + png_chunk(b"IEND")


def png_with_inflating_chunks(kind: bytes, count: int) -> bytes:
    """A small drawing with `count` chunks of `kind` (iCCP, zTXt or iTXt) before its pixels, each a
    kilobyte that Pillow inflates into a megabyte as it opens the file: zeros as an ICC profile, or
    bytes that are not UTF-8 as compressed international text."""
    content = encode(Image.new("L", (64, 64), 255))
    inflating = zlib.compress(b"\xff" * (2**20 - 1), 9)
    data = {b"iCCP": b"p\0\0" + zlib.compress(b"\0" * (2**20 - 1), 9), b"zTXt": b"k\0\0" + inflating,
            b"iTXt": b"k\0\1\0\0\0" + inflating}[kind]
    idat = content.index(b"IDAT") - 4
    return content[:idat] + png_chunk(kind, data) * count + content[idat:]


def white_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buffer, "JPEG")
    return buffer.getvalue()


def jpeg_with_segments(marker: int, data: bytes, count: int) -> bytes:
    """A small white JPEG whose header starts with `count` segments of `marker` holding `data`."""
    content = white_jpeg()
    segment = b"\xff" + bytes([marker]) + struct.pack(">H", len(data) + 2) + data
    return content[:2] + segment * count + content[2:]


def jpeg_with_restart_markers(count: int) -> bytes:
    """A small white JPEG whose header starts with `count` restart markers, which open no segment."""
    content = white_jpeg()
    return content[:2] + b"\xff\xd0" * count + content[2:]


def huge_png(side: int = 4096, mode: str = "RGBA") -> bytes:
    """A few kilobytes that declare side x side pixels: a plain white sheet, maximally compressed."""
    buffer = io.BytesIO()
    Image.new(mode, (side, side), "white").save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()


def one_bit_noise(side: int = 4096) -> bytes:
    """Black and white noise: two megabytes a 1-bit PNG cannot compress, a byte a pixel once read."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).random((side, side)) > 0.5).save(buffer, "PNG")
    return buffer.getvalue()


def huge_jpeg(side: int = 4096) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), "white").save(buffer, "JPEG", quality=50)
    return buffer.getvalue()


def jpeg_with_ff_run(run: int = 200_000, where: str = "scan") -> bytes:
    """A small white JPEG with a run of 0xFF bytes then 0x00: in its scan, as stuffing (each 0xFF of it
    started a regex backtracking over the rest of the run), or between its header's segments as fill,
    which Pillow reads a byte at a time."""
    content = white_jpeg()
    if where == "scan":
        sos = content.index(b"\xff\xda")
        at = sos + 2 + struct.unpack_from(">H", content, sos + 2)[0]
        return content[:at] + b"\xff" * run + b"\x00" + content[at:]
    return content[:2] + b"\xff" * run + content[2:]


def a_one(side: int = 280) -> Image.Image:
    """A drawing of one stroke like a "1"."""
    drawing = Image.new("L", (side, side), 255)
    drawing.paste(0, (side // 3, side // 5, side // 3 + side // 8, side * 4 // 5))
    return drawing


def animated_png(frames: int = 2000, side: int = 280) -> bytes:
    """An APNG whose first frame is a stroke like a "1", followed by `frames` - 1 frames."""
    first = a_one(side)
    others = [Image.new("L", (side, side), shade) for shade in (0, 128)]
    buffer = io.BytesIO()
    first.save(buffer, "PNG", save_all=True, append_images=[others[i % 2] for i in range(frames - 1)])
    return buffer.getvalue()


def noise(width: int, height: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))


def noisy_photo(width: int = 2600, height: int = 1950, progressive: bool = True) -> bytes:
    """The costliest honest photo: noise leaves the JPEG encoder nothing to compress, so a few
    megabytes of entropy-coded data must all be decoded."""
    buffer = io.BytesIO()
    noise(width, height).save(buffer, "JPEG", quality=80, progressive=progressive)
    return buffer.getvalue()


def dotted_close_up(side: int = 1024, dots: int = 44) -> bytes:
    """A photo for the reading of its marks to weigh as many as it weighs (`marks.MAX_MARKS`): a grid of dots
    (44 x 44 of them, 1,936 marks), and over it a digit as thick as a close-up's, read with a second background
    window too. An audit's costliest photo to read."""
    picture = Image.new("L", (side, side), 235)
    draw = ImageDraw.Draw(picture)
    step = side / dots
    for row in range(dots):
        for col in range(dots):
            x, y = (col + 0.5) * step, (row + 0.5) * step
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=40)
    draw.line([(0.3 * side, 0.2 * side), (0.7 * side, 0.2 * side), (0.45 * side, 0.85 * side)], fill=10,
              width=side // 25)
    grain = np.random.default_rng(1).integers(-6, 7, (side, side))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.asarray(picture, dtype=np.int16) + grain, 0, 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def noisy_webp(width: int = 1600, height: int = 1600) -> bytes:
    """Noise as a WebP of `width`x`height`, by default the most pixels the site decodes, at the
    highest quality: the most bytes, so the most to decode (at 1600x1600, 2.8 MB)."""
    buffer = io.BytesIO()
    noise(width, height).save(buffer, "WEBP", quality=100)
    return buffer.getvalue()


def webp_declaring(width: int, height: int) -> bytes:
    """A 140-byte animated WebP of two 64x64 frames on a `width`x`height` canvas, which Pillow
    composes whole to read its first frame."""
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buffer, "WEBP", lossless=True, save_all=True,
                                       append_images=[Image.new("L", (64, 64), 0)])
    content = bytearray(buffer.getvalue())
    # The VP8X chunk's payload: 4 bytes of flags, then the canvas's width and height less one, 3 bytes each.
    assert content[12:16] == b"VP8X"
    content[24:27], content[27:30] = (width - 1).to_bytes(3, "little"), (height - 1).to_bytes(3, "little")
    return bytes(content)


# Tag 0x0109 written as text where Pillow expects a number, beside an orientation of 6: Pillow's
# exif_transpose failed on it with struct.error as it wrote the block out again.
MISTYPED_EXIF_BLOCK = bytes.fromhex("4d4d002a000000080002010900020000000443616d0001120003000000010006000000000000")


def exif_block(first_tags: int = 1, exif_tags: int = 0, orientation: int = 6) -> bytes:
    """A big-endian TIFF block: a first directory of `first_tags` tags (the orientation, then filler),
    and where `exif_tags` is not 0 an Exif sub-directory of that many tags after it."""
    def entry(tag: int, kind: int, value: bytes) -> bytes:
        return struct.pack(">HHL", tag, kind, 1) + value.ljust(4, b"\0")

    first = [entry(0x0112, 3, struct.pack(">H", orientation))]
    if exif_tags:
        first.append(b"")  # the Exif pointer, written once the first directory's size is known
    first += [entry(filler_tag(n), 4, b"\0\0\0\1") for n in range(first_tags - len(first))]
    first_size = 2 + 12 * len(first) + 4
    if exif_tags:
        first[1] = entry(0x8769, 4, struct.pack(">L", 8 + first_size))
    block = b"MM\0*" + struct.pack(">LH", 8, len(first)) + b"".join(first) + b"\0\0\0\0"
    if exif_tags:
        sub = [entry(filler_tag(n), 4, b"\0\0\0\1") for n in range(exif_tags)]
        block += struct.pack(">H", len(sub)) + b"".join(sub) + b"\0\0\0\0"
    return block


def exif_of_fractions(tags: tuple[int, ...], count: int) -> bytes:
    """A little-endian TIFF block whose first directory holds `tags`, each `count` RATIONAL values, all
    pointing at the same fractions (TIFF lets entries share their data)."""
    data_at = 8 + 2 + 12 * len(tags) + 4
    directory = b"".join(struct.pack("<HHLL", tag, 5, count, data_at) for tag in tags)
    return (b"II*\0" + struct.pack("<LH", 8, len(tags)) + directory + b"\0\0\0\0"
            + struct.pack("<LL", 3, 7) * count)


def filler_tag(n: int) -> int:
    """Private tags, repeating where a directory holds more than there are: never a pointer to another directory."""
    return 0xC000 + n % 0x3FFF


def with_exif(image: Image.Image, block: bytes, image_format: str) -> bytes:
    """The image saved with the EXIF block: a PNG eXIf chunk or a WebP EXIF chunk, which have no size
    limit, or a JPEG APP1 segment, which holds at most 64 KiB."""
    buffer = io.BytesIO()
    image.save(buffer, image_format, exif=block if image_format == "PNG" else b"Exif\x00\x00" + block)
    return buffer.getvalue()
