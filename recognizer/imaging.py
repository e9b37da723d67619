"""Decoding what a client sends into a checked PIL image; every failure is a clear ImageRejected.

No upload within the byte limit may cost more than about 250 ms of CPU to decode, whatever its
structure. What a decoder does with a file is bounded before it runs: the PNG chunks and JPEG
scans are counted from the headers, and so is the metadata Pillow unpacks as it opens a file (ICC
profiles, compressed texts, EXIF segments, quantization tables); a PNG's decoded size and a WebP's
pixels are budgeted, and a large JPEG is decoded at 1/2 to 1/8 scale by libjpeg itself (draft
mode). Only the first frame of an APNG, an animated WebP or a multi-picture JPEG is read. What the
site stores is its own re-encoding of the decoded pixels.

HEIC and AVIF are not read: their containers may make libheif decode one huge tile hundreds of
times for a 17 KB file, or Pillow parse a megabyte of EXIF fractions as it opens one, before any
check could see their structure (the README: "HEIC and AVIF are not read").
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import re
import struct
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from PIL import Image, PngImagePlugin

from mlcore.exif import EXIF_HEADER, RAW_PROFILE, from_camera, upright

# The scheme, the media type and ";base64" in any case (RFC 2397): "DATA:IMAGE/PNG;BASE64," was refused as bad base64.
DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(;[\w-]+=[\w.-]+)*(?P<b64>;base64)?,",
                      re.ASCII | re.IGNORECASE)
# A data URL's header is a media type and a parameter or two; the regex is only ever shown that
# much, where thousands of parameters cost it a second.
DATA_URL_MAX_HEADER = 256
# Base64 may be wrapped in lines; dropped in one copy of the text, where splitting it made a list of
# every line (a 14 MiB body of short lines: 350 ms and 215 MB).
WITHOUT_WHITESPACE = str.maketrans("", "", " \t\n\r\f\v")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The sides a picture may have: a 50-megapixel phone camera writes 8160x6120, and 8x8 is the smallest
# digit a writer's scan gives (UCI's optdigits).
MIN_IMAGE_SIDE, MAX_IMAGE_SIDE = 8, 8192
# A PNG decode is inflating and unfiltering every byte of its pixels: 16 MiB (2048x2048 RGBA,
# 4096x4096 grey) costs about 70 ms; 4096x4096 RGBA would be four times that.
PNG_MAX_DECODED_BYTES = 16 * 1024 * 1024
# Writers split the pixel data into chunks of 8 to 64 KiB, so a 4 MiB PNG has at most a few
# hundred; each chunk costs Pillow a few microseconds of Python.
PNG_MAX_CHUNKS = 4096
# Pillow inflates every ICC profile and compressed text chunk as it opens a PNG, up to a megabyte
# each, about 2 ms, and counts none of it against its text limits where the chunk is an ICC
# profile or its text is not UTF-8: 4,000 such chunks in a 4 MB file cost 8 s. An editor writes a
# profile and two or three compressed texts (ImageMagick's EXIF and XMP).
PNG_COMPRESSED_CHUNKS = {b"iCCP", b"zTXt", b"iTXt"}
PNG_MAX_COMPRESSED_CHUNKS = 8
# ImageMagick's hex "Raw profile type exif" text, which Pillow keeps whole (up to 64 MB), is split into
# lines and joined again each time the EXIF block is read, three times an upload: 10 MB of newlines cost
# 0.5 s and 160 MB. It holds an EXIF block, at most 64 KiB as a camera writes it. Other texts are only
# kept (Photoshop's XMP may take megabytes).
PNG_TEXT_CHUNKS = {b"tEXt", b"zTXt", b"iTXt"}
PNG_EXIF_TEXT = RAW_PROFILE.encode() + b"\0"
PNG_MAX_EXIF_TEXT_BYTES = 1024 * 1024
# Samples per pixel of each PNG colour type: grey, RGB, palette, grey + alpha, RGBA.
PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
PNG_GREY, PNG_PALETTE, PNG_GREY_ALPHA = 0, 3, 4
# libjpeg walks every block of the picture once per progressive scan, about 15 ms per scan at
# 4096x4096, so the scans a JPEG may have shrink as its pixels grow: 10 at 4096x4096 (libjpeg
# writes 10 for a colour progressive JPEG), thousands for a small drawing.
JPEG_MAX_SCAN_PIXELS = 10 * 4096 * 4096
# A JPEG that is not one sequential scan of all its colours (a progressive one, as an editor may save
# it) is held whole as coefficients while libjpeg reads it, 2 bytes a sample whatever the scale: 100 MB
# at 4096x4096. Cameras write one such scan, which libjpeg decodes at 1/8 scale in a few megabytes, so
# only those may be larger.
JPEG_MAX_BUFFERED_SIDE = 4096
# Such a JPEG's data is read bit by bit, scan after scan, about 30 ms a megabyte whatever the scale:
# 8 MB of noise, progressive, cost 0.3 s to decode. An editor saves a photo so in a few megabytes.
JPEG_MAX_BUFFERED_BYTES = 4 * 1024 * 1024
# A marker: the last 0xFF of its fill bytes, then a byte that is neither 0x00 (a stuffed 0xFF in
# entropy-coded data) nor 0xFF. Inside a scan, restart markers (0xD0-0xD7) belong to the scan. One
# literal 0xFF, no repeat: re skips to each 0xFF at memchr's speed (3 ms over a 4 MB scan, where
# 0xFF+ took 60 ms) and never backtracks (0xFF\xff* took 71 s over a run of 80,000 0xFF then 0x00).
JPEG_MARKER = re.compile(rb"\xff([^\x00\xff])")
JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xff\xd0-\xd7]")
JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}
JPEG_START = b"\xff\xd8"
# The markers of a frame header, which gives the picture's size: SOF0-SOF15 but DHT, JPG and DAC.
JPEG_FRAME_HEADERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Frames libjpeg decodes a scan at a time, each scan at once: baseline, extended and arithmetic
# sequential. Any other (progressive, lossless) or a frame whose colours come in separate scans is
# held whole as coefficients while it is read.
JPEG_SEQUENTIAL = {0xC0, 0xC1, 0xC9}
# Pillow reads a JPEG's header a byte at a time in Python, fill and junk between segments too, about
# a microsecond a byte: 9 s for 10 MB; markers that open no segment (restart markers) are walked
# two bytes at a time, 3 s for 10 MB. A camera writes none.
JPEG_MAX_HEADER_SKIPPED = 4096
# Pillow appends each EXIF segment to those before it, copying the whole block each time: 9,900
# segments of a kilobyte cost 1 to 20 s. A camera writes one; more is not the EXIF standard.
JPEG_APP1 = 0xE1
JPEG_MAX_EXIF_SEGMENTS = 4
# Segments Pillow reads in Python as it opens a JPEG, and the bytes of each kind a file may have, with its
# name. Quantization tables, about 2 ms a thousand (10 MB of them cost 370 ms): a JPEG has two to four, of
# 65 or 129 bytes. Photoshop's resources, a loop step each 12 bytes (10 MB cost 380 ms): a few kilobytes
# and a thumbnail.
JPEG_QUANTIZATION = 0xDB
JPEG_PHOTOSHOP = 0xED
JPEG_MAX_SEGMENT_BYTES = {JPEG_QUANTIZATION: (64 * 1024, "quantization tables"),
                          JPEG_PHOTOSHOP: (256 * 1024, "Photoshop (APP13) segments")}
# Segments before, between and after the scans (tables, metadata): a camera writes a dozen, a
# progressive JPEG two per scan; a small drawing may have thousands of scans within its budget.
JPEG_MAX_SEGMENTS = 10_000
# A large JPEG is decoded at the smallest libjpeg scale (1/2 to 1/8) that keeps its longer side
# at least this long: the preprocessing shrinks every image to about 560 pixels anyway.
DRAFT_SIDE = 512
# The scales libjpeg's draft mode may decode at, as fractions of the picture's side.
DRAFT_REDUCTIONS = (1, 2, 4, 8)
# libwebp has no reduced decoding, so a WebP is decoded whole, 50 to 70 ns a pixel on one core
# for noise at the highest quality: 1600x1600 (the largest picture the page sends) costs 200 to
# 250 ms, the most any upload costs, so that is the most a WebP may have (an animated one's
# canvas, which Pillow composes whole). It is then reduced as libjpeg's draft mode reduces a JPEG,
# so a picture reaches the preprocessing at the same size in either format.
WEBP_MAX_PIXELS = 1600 * 1600
READ_FORMATS = ["PNG", "JPEG", "WEBP"]
FORMAT_NAMES = "PNG, JPEG or WebP"
# The longest side stored: enough for a reviewer to see the drawing, and a bounded cost to encode.
STORED_MAX_SIDE = 1024
# The most a stored drawing may take on disk; a larger encoding is halved until it fits. A drawing
# takes tens of kilobytes and a photo hundreds; noise, which nothing compresses, up to 4 MB.
STORED_MAX_BYTES = 1024 * 1024
# A picture that might not fit is halved at once as often as SAMPLE_STRIPS strips of its rows, spread down it
# and a SAMPLE_SHARE of it in all, say it would still take more than SAMPLE_MARGIN times the most encoded:
# noise was encoded whole two or three times before it fit (a 2048x2048 PNG of noise, 163 ms and then 43 ms,
# the costliest part of the costliest uploads). Within the margin, the encoding itself decides, as before.
SAMPLE_STRIPS = 8
SAMPLE_SHARE = 1 / 8
SAMPLE_MARGIN = 1.25
# The mode a decoded PNG is stored in; a palette image becomes RGB, or RGBA when it has transparency.
STORED_PNG_MODES = {"1": "L", "L": "L", "LA": "LA", "RGB": "RGB", "RGBA": "RGBA"}
# How Pillow opens a 16-bit grey PNG: its levels run to 65,535.
WIDE_GREY_MODES = ("I", "I;16", "I;16B", "I;16L")


class ImageRejected(ValueError):
    """The upload is not an image this site can read; the message tells the client why."""


@dataclass(frozen=True)
class DecodedImage:
    """An upload decoded: its first frame, upright, at most a few megapixels."""

    image: Image.Image
    # How it is stored: "PNG" for a PNG or a picture with transparency, which JPEG cannot hold; else "JPEG".
    format: str
    # Whether its metadata says a camera took it (mlcore.exif.from_camera): a photo, whoever sends it.
    from_camera: bool = False

    @functools.cached_property
    def _encoded(self) -> tuple[bytes, str]:
        # Drawings (PNG) stay lossless PNG; photos stay JPEG, where PNG would be several times
        # larger for the same picture. Either is written from the pixels alone, through a
        # fresh image without the upload's metadata, so no EXIF (camera, GPS), XMP, ICC profile,
        # text chunk, second picture or bytes after the end are ever stored or served.
        image = self.image
        if self.format == "JPEG":
            mode = "L" if image.mode == "L" else "RGB"
        else:
            mode = STORED_PNG_MODES.get(image.mode) or ("RGBA" if "transparency" in image.info else "RGB")
        # Converted first: Pillow reduces no 1-bit or palette image.
        image = image.convert(mode)
        if max(image.size) > STORED_MAX_SIDE:
            image = image.reduce(-(-max(image.size) // STORED_MAX_SIDE))
        image = image.reduce(stored_reduction(image, self.format))
        while True:
            content = encoded(image, self.format)
            if len(content) <= STORED_MAX_BYTES or min(image.size) < 2:
                return content, "jpg" if self.format == "JPEG" else "png"
            image = image.reduce(2)

    @property
    def content(self) -> bytes:
        """The bytes the site stores: its own encoding of the decoded pixels."""
        return self._encoded[0]

    @property
    def extension(self) -> str:
        return self._encoded[1]


def encoded(image: Image.Image, format: str) -> bytes:
    """The pixels alone encoded, through a fresh image that carries none of the upload's metadata."""
    buffer = io.BytesIO()
    # zlib level 3 writes a canvas drawing in half the time of the default 6, and no larger.
    Image.frombytes(image.mode, image.size, image.tobytes()).save(buffer, format, quality=90, compress_level=3)
    return buffer.getvalue()


def stored_reduction(image: Image.Image, format: str) -> int:
    """How many times smaller (a power of two) the image surely is to be stored for its encoding to fit
    STORED_MAX_BYTES, as strips of its rows take encoded (SAMPLE_STRIPS); 1 where its pixels, unencoded,
    would fit."""
    reduction = 1
    if image.width * image.height * len(image.getbands()) <= STORED_MAX_BYTES:
        return reduction
    strip = max(16, round(image.height * SAMPLE_SHARE / SAMPLE_STRIPS))
    tops = np.linspace(0, max(0, image.height - strip), SAMPLE_STRIPS).round().astype(int)
    sample = Image.new(image.mode, (image.width, strip * SAMPLE_STRIPS))
    for index, top in enumerate(tops):
        sample.paste(image.crop((0, int(top), image.width, int(top) + strip)), (0, index * strip))
    estimate = len(encoded(sample, format)) * image.height / sample.height
    while estimate / reduction ** 2 > SAMPLE_MARGIN * STORED_MAX_BYTES:
        reduction *= 2
    return reduction


def from_data_url(text: str) -> bytes:
    """The bytes of a `data:image/png;base64,...` URL or of bare base64."""
    match = DATA_URL.match(text[:DATA_URL_MAX_HEADER])
    if match:
        if not match.group("b64"):
            raise ImageRejected("the data URL is not base64-encoded; send data:image/png;base64,...")
        text = text[match.end():]
    text = text.translate(WITHOUT_WHITESPACE)
    # Base64 without its closing "=" (as URL-safe encoders write it) holds the same bytes.
    if len(text) % 4 in (2, 3):
        text += "=" * (4 - len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImageRejected("the image is not valid base64") from None


def readable_png(content: bytes) -> bytes:
    """The PNG as Pillow is to read it: refused where its chunks or decoded size would cost too much, before
    any decoding, and without the compressed texts Pillow would refuse the picture for (`too_long_for_pillow`)."""
    position, chunks, compressed, exif_text_bytes = len(PNG_SIGNATURE), 0, 0, 0
    dropped = []
    while position + 8 <= len(content):
        length, kind = struct.unpack_from(">I4s", content, position)
        if kind == b"IHDR" and length >= 13 and position + 18 <= len(content):
            width, height, depth, colour = struct.unpack_from(">IIBB", content, position + 8)
            # As Pillow holds the pixels: a sample of 1, 2 or 4 bits in a byte of its own, 16 bits of grey in
            # two but of colour in one (16-bit RGBA is read as 8-bit: counted at 16, a 1600x1600 photo the page
            # sends as it is was refused), and a palette image, and 16-bit grey with alpha, through RGBA.
            samples = 4 if colour == PNG_PALETTE or (colour == PNG_GREY_ALPHA and depth == 16) \
                else PNG_SAMPLES.get(colour, 4)
            decoded = width * height * samples * (2 if colour == PNG_GREY and depth == 16 else 1)
            if decoded > PNG_MAX_DECODED_BYTES:
                raise ImageRejected(
                    f"the image has too many pixels: {width}x{height} is {decoded / 2**20:,.1f} MiB as read; "
                    f"the limit for a PNG is {PNG_MAX_DECODED_BYTES // 2**20} MiB "
                    "(2048x2048 with colour and alpha); a larger photo can be sent as a JPEG")
        chunks += 1
        if chunks > PNG_MAX_CHUNKS:
            raise ImageRejected(f"the PNG has more than {PNG_MAX_CHUNKS:,} chunks")
        compressed += kind in PNG_COMPRESSED_CHUNKS
        if compressed > PNG_MAX_COMPRESSED_CHUNKS:
            raise ImageRejected(f"the PNG has more than {PNG_MAX_COMPRESSED_CHUNKS} ICC profile and compressed "
                                "text chunks")
        if kind in PNG_TEXT_CHUNKS and content.startswith(PNG_EXIF_TEXT, position + 8):
            exif_text_bytes += length
            if exif_text_bytes > PNG_MAX_EXIF_TEXT_BYTES:
                raise ImageRejected(f"the PNG's EXIF text ({RAW_PROFILE!r}) takes more than "
                                    f"{PNG_MAX_EXIF_TEXT_BYTES:,} bytes")
        if kind in PNG_TEXT_CHUNKS and too_long_for_pillow(kind, content[position + 8:position + 8 + length]):
            dropped.append((position, position + 12 + length))
        if kind == b"IEND":
            break
        position += 12 + length
    for start, end in reversed(dropped):
        content = content[:start] + content[end:]
    return content


def too_long_for_pillow(kind: bytes, data: bytes) -> bool:
    """Whether the text chunk's compressed text unpacks to more than Pillow keeps of one (MAX_TEXT_CHUNK), for
    which it refuses the whole picture: ImageMagick's XMP as a zTXt, or an iTXt of megabytes, which uncompressed
    are read. Metadata only: the picture is read without it."""
    keyword_end = data.find(b"\0")
    if kind == b"zTXt":
        packed = data[keyword_end + 2:]
    elif kind == b"iTXt" and data[keyword_end + 1:keyword_end + 2] == b"\1":
        # After the flag and the method: the language and the translated keyword, each ended by a zero byte.
        language_end = data.find(b"\0", keyword_end + 3)
        packed = data[data.find(b"\0", language_end + 1) + 1:]
    else:
        return False
    inflater = zlib.decompressobj()
    try:
        inflater.decompress(packed, PngImagePlugin.MAX_TEXT_CHUNK)
    except zlib.error:
        return False  # a damaged text, as Pillow itself finds it
    return bool(inflater.unconsumed_tail)


@dataclass(frozen=True)
class JpegFrame:
    """A JPEG's frame header: its kind (the SOF marker), size and number of colour components."""

    marker: int
    width: int
    height: int
    components: int


def check_jpeg_structure(content: bytes) -> None:
    """Refuse a JPEG whose header or scans would cost too much, before any decoding, counting its
    scans the way libjpeg finds them: between segments, whatever is not a marker is skipped up to
    the next one."""
    position, scans, segments, skipped, exif_segments = 2, 0, 0, 0, 0
    frame = None
    segment_bytes = dict.fromkeys(JPEG_MAX_SEGMENT_BYTES, 0)
    while match := JPEG_MARKER.search(content, position):
        marker = match.group(1)[0]
        if not scans:
            skipped += (match.end() if marker in JPEG_STANDALONE else match.start()) - position
            if skipped > JPEG_MAX_HEADER_SKIPPED:
                raise ImageRejected(f"the JPEG's header has more than {JPEG_MAX_HEADER_SKIPPED:,} bytes of fill, "
                                    "junk or restart markers between its segments")
        position = match.end()
        if marker == 0xD9:  # the end of the first picture
            return
        if marker in JPEG_STANDALONE:
            continue
        segments += 1
        if segments > JPEG_MAX_SEGMENTS:
            raise ImageRejected(f"the JPEG has more than {JPEG_MAX_SEGMENTS:,} segments")
        if position + 2 > len(content):
            return
        exif_segments += marker == JPEG_APP1 and content.startswith(EXIF_HEADER, position + 2)
        if exif_segments > JPEG_MAX_EXIF_SEGMENTS:
            raise ImageRejected(f"the JPEG has more than {JPEG_MAX_EXIF_SEGMENTS} EXIF segments")
        length = struct.unpack_from(">H", content, position)[0]
        if marker in JPEG_FRAME_HEADERS and position + 8 <= len(content):
            # Pillow reads every frame header's bytes in Python, three at a time (150 padded ones cost 0.7 s
            # and 270 MB); libjpeg refuses a second one, or one whose length is not its components', later.
            height, width, components = struct.unpack_from(">HHB", content, position + 3)
            if frame is not None or length != 8 + 3 * components:
                raise ImageRejected("the JPEG's frame header is damaged or not its only one")
            # Pillow reads 8-bit samples only, and called a 12-bit JPEG "not a PNG, JPEG or WebP image".
            if content[position + 2] != 8:
                raise ImageRejected(f"the JPEG's samples are {content[position + 2]} bits; only 8-bit JPEGs are "
                                    "read: save it again as an ordinary JPEG")
            frame = JpegFrame(marker, width, height, components)
        if marker in segment_bytes:
            segment_bytes[marker] += length
            limit, name = JPEG_MAX_SEGMENT_BYTES[marker]
            if segment_bytes[marker] > limit:
                raise ImageRejected(f"the JPEG's {name} take more than {limit:,} bytes")
        if marker != 0xDA:
            position += length
            continue
        scans += 1
        check_jpeg_scan(scans, content[position + 2] if position + 3 <= len(content) else 0, frame, len(content))
        end = JPEG_SCAN_END.search(content, position + length)
        if end is None:
            return
        position = end.start()


def check_jpeg_scan(scans: int, components: int, frame: JpegFrame | None, size: int) -> None:
    """Refuse a JPEG of `size` bytes at its `scans`-th scan, of `components` colour components, beyond what
    its frame allows (None where no frame header came first, which libjpeg refuses)."""
    width, height = (frame.width, frame.height) if frame else (0, 0)
    pixels = width * height
    buffered = frame is None or frame.marker not in JPEG_SEQUENTIAL or scans > 1 or components != frame.components
    if 0 < pixels <= JPEG_MAX_BUFFERED_SIDE ** 2:
        allowed = max(1, JPEG_MAX_SCAN_PIXELS // pixels)
        if scans > allowed:
            raise ImageRejected(f"the JPEG has more than {allowed:,} scans, the limit at {width}x{height} pixels")
        if buffered and size > JPEG_MAX_BUFFERED_BYTES:
            raise ImageRejected(f"the JPEG is {size:,} bytes and not in one scan of all its colours as a camera "
                                f"writes it (a progressive JPEG, say); such a JPEG may take at most "
                                f"{JPEG_MAX_BUFFERED_BYTES:,} bytes: save it as a baseline JPEG, or smaller")
    elif buffered:
        raise ImageRejected(f"the JPEG is {width}x{height} pixels, not in one scan of all its colours as a camera "
                            f"writes it (a progressive JPEG, say); over {JPEG_MAX_BUFFERED_SIDE}x"
                            f"{JPEG_MAX_BUFFERED_SIDE} pixels only such a baseline JPEG is read")


def draft_size(width: int, height: int) -> tuple[int, int]:
    """The size a large picture is asked for: DRAFT_SIDE on its longer side, the other in proportion."""
    scale = DRAFT_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def draft_reduction(width: int, height: int) -> int:
    """How much libjpeg's draft mode shrinks a `width`x`height` picture asked for at draft_size: the
    most of 1, 2, 4 and 8 that leaves it no smaller than that."""
    wanted_width, wanted_height = draft_size(width, height)
    most = min(width // wanted_width, height // wanted_height)
    return max(reduction for reduction in DRAFT_REDUCTIONS if reduction <= max(1, most))


def is_transparent(image: Image.Image) -> bool:
    """Whether some of the picture is transparent, which JPEG cannot keep (an RGBA WebP may be opaque
    throughout)."""
    if image.mode in ("RGBA", "LA"):
        return image.getchannel("A").getextrema()[0] < 255
    return image.has_transparency_data


def decode(content: bytes) -> DecodedImage:
    """Open the bytes of an image in one of READ_FORMATS, enforcing the byte, pixel and structure
    limits before decoding pixels."""
    if not content:
        raise ImageRejected("the image is empty")
    if len(content) > settings.MAX_IMAGE_BYTES:
        raise ImageRejected(f"the image is {len(content):,} bytes; the limit is {settings.MAX_IMAGE_BYTES:,}")
    if content.startswith(PNG_SIGNATURE):
        content = readable_png(content)
    elif content.startswith(JPEG_START):
        check_jpeg_structure(content)
    try:
        with warnings.catch_warnings():
            # A JPEG's EXIF block is read as it opens; a damaged one is the sender's, not the log's, business.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content), formats=READ_FORMATS)
    except Image.UnidentifiedImageError:
        raise ImageRejected(f"the file is not a {FORMAT_NAMES} image") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejected(f"the image has too many pixels; each side must be at most {MAX_IMAGE_SIDE}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"the image could not be read: {exc}") from None
    width, height = image.size
    low, high = MIN_IMAGE_SIDE, MAX_IMAGE_SIDE
    if not (low <= width <= high and low <= height <= high):
        raise ImageRejected(f"the image is {width}x{height} pixels; each side must be {low} to {high}")
    webp = image.format == "WEBP"
    if webp and width * height > WEBP_MAX_PIXELS:
        raise ImageRejected(f"the image is {width}x{height} pixels; a WebP may have at most "
                            f"{WEBP_MAX_PIXELS / 1e6:.1f} megapixels (1600x1600); send it smaller, or as a JPEG")
    # Pillow calls a JPEG holding several pictures (as some phone cameras write) MPO.
    if image.format in ("JPEG", "MPO"):
        image.draft(image.mode, draft_size(width, height))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRejected(f"the image is truncated or corrupt: {exc}") from None
    stored_format = "PNG" if image.format == "PNG" or is_transparent(image) else "JPEG"
    camera = from_camera(image)
    # Upright as the camera meant it; a drawing has no orientation tag and is left as it is.
    image = upright(image)
    if webp:
        image = image.reduce(draft_reduction(width, height))
    if image.mode in WIDE_GREY_MODES:
        # Pillow converts wide grey to 8 bits by clipping at 255, which would leave only the darkest
        # greys: grey ink on 16-bit paper would be blank.
        # In its own 16 or 32 bits: widened to 32 first, a 16-bit PNG of 8 megapixels cost a worker 90 MB.
        image = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
    return DecodedImage(image, stored_format, camera)
