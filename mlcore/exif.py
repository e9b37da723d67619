"""A photo turned upright as its EXIF orientation tag says, at a bounded cost whatever the tag's block holds.

Pillow parses an EXIF directory in a Python loop, about 30 microseconds a tag, and a directory may
declare 65,535 tags: a 787 KB PNG whose eXIf chunk holds one costs seconds to open through
`ImageOps.exif_transpose`, which also writes every tag out again. A camera writes a dozen or two
into the first directory, where the orientation is: Pillow reads that directory only when it is of
a camera's size, a tag's value only when it is too (a million fractions cost seconds), and nothing
is written out again.
"""

from __future__ import annotations

import struct
import warnings

from PIL import Image

ORIENTATION = 0x0112
MAKE = 0x010F
MODEL = 0x0110
# The transposition that shows each orientation's stored pixels upright (TIFF 6.0, tag 274).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Phones and cameras write 10 to 30 tags into the first directory; its other tags live in
# sub-directories that are never read here.
MAX_FIRST_DIRECTORY_TAGS = 256
# A camera's make or model is a few dozen characters, the orientation one number: a tag read here
# whose value takes more is not read (Pillow builds an object for each of its values).
MAX_VALUE_BYTES = 256
# The bytes one value of each TIFF field type takes (TIFF 6.0, section 2; 13 is an IFD offset).
TYPE_BYTES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
TAGS_READ = (ORIENTATION, MAKE, MODEL)
EXIF_HEADER = b"Exif\x00\x00"
RAW_PROFILE = "Raw profile type exif"
# Where Pillow looks for an orientation: the EXIF block, ImageMagick's PNG text chunk, XMP as text or bytes.
ORIENTATION_SOURCES = ("exif", RAW_PROFILE, "XML:com.adobe.xmp", "xmp")


def tags_to_read(block: bytes | None) -> tuple[int, ...]:
    """Which of TAGS_READ Pillow may be asked for: all where there is no block (XMP may give the
    orientation), none where the block is no TIFF directory this reads or its first directory declares
    more tags than a camera writes, else those whose value there is of a camera's size."""
    if block is None:
        return TAGS_READ
    # Pillow takes off more than one header (its WebP reader one, its EXIF reader one or two more):
    # a block of two or three was read by Pillow and not here. Counted, not cut off one at a time,
    # which copied the rest each time: a megabyte of headers held a worker for seconds.
    start = 0
    while block.startswith(EXIF_HEADER, start):
        start += len(EXIF_HEADER)
    tiff = block[start:]
    byte_order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if byte_order is None or len(tiff) < 8:
        return ()
    (offset,) = struct.unpack_from(byte_order + "L", tiff, 4)
    if offset + 2 > len(tiff):
        return ()
    (count,) = struct.unpack_from(byte_order + "H", tiff, offset)
    if count > MAX_FIRST_DIRECTORY_TAGS:
        return ()
    outsized = set()
    for entry in range(offset + 2, min(offset + 2 + 12 * count, len(tiff) - 11), 12):
        tag, kind, values = struct.unpack_from(byte_order + "HHL", tiff, entry)
        if values * TYPE_BYTES.get(kind, MAX_VALUE_BYTES + 1) > MAX_VALUE_BYTES:
            outsized.add(tag)
    return tuple(tag for tag in TAGS_READ if tag not in outsized)


def block_of(image: Image.Image) -> bytes | None:
    """The EXIF block Pillow reads the orientation from: the image's own, or the hex text chunk
    ImageMagick writes into a PNG."""
    block = image.info.get("exif")
    profile = image.info.get(RAW_PROFILE)
    if block is None and isinstance(profile, str):
        try:
            block = bytes.fromhex("".join(profile.split("\n")[3:]))
        except ValueError:
            return None
    return block if isinstance(block, bytes) else None


def first_directory(image: Image.Image) -> dict[int, object]:
    """The orientation, make and model in the first EXIF directory Pillow finds (in the EXIF block,
    ImageMagick's text chunk or XMP); none where the block is damaged or outsized. Pillow reads a
    tag's value as it is asked for: one tag of a million fractions costs seconds, and is never asked for."""
    wanted = tags_to_read(block_of(image))
    if not wanted:
        return {}
    # A damaged block is the camera's fault, not the picture's: whatever Pillow makes of it, the
    # pixels are read as stored. Its complaints (a tag's data "beyond the file") would flood the log.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tags = image.getexif()
            return {tag: tags[tag] for tag in wanted if tag in tags}
    except Exception:
        return {}


def orientation(image: Image.Image) -> int:
    """The orientation the image's metadata gives; 1 (as stored) where it gives none."""
    value = first_directory(image).get(ORIENTATION, 1)
    return value if isinstance(value, int) else 1


def from_camera(image: Image.Image) -> bool:
    """Whether the image's metadata says a camera took it: it names the camera's make or model, or
    the picture is stored turned, as only a camera stores it (an editor writes orientation 1)."""
    tags = first_directory(image)
    turned = isinstance(tags.get(ORIENTATION), int) and tags[ORIENTATION] in UPRIGHT
    return MAKE in tags or MODEL in tags or turned


def upright(image: Image.Image) -> Image.Image:
    """The image turned as its orientation says, without what said it, so that it is never turned
    twice; the image itself where it has no orientation to apply."""
    method = UPRIGHT.get(orientation(image))
    if method is None:
        return image
    turned = image.transpose(method)
    for key in ORIENTATION_SOURCES:
        turned.info.pop(key, None)
    return turned
