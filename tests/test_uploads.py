"""Hostile uploads are refused or decoded cheaply, and what is stored is the site's own re-encoding."""

import io
import os
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from PIL import ExifTags, Image, ImageDraw, PngImagePlugin

from mlcore.exif import EXIF_HEADER
from recognizer import imaging
from recognizer.models import Prediction

from . import hostile
from .drawings import Style, encode, render

URL = "/api/predictions/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def seven(mnist_test):
    return mnist_test.images[0]   # the first MNIST test digit is a 7


def named(content: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def post_file(client, content: bytes, name: str):
    return client.post(URL, {"image": named(content, name)})


def stored_file(response) -> Path:
    assert response.status_code == 201, response.content
    return Path(Prediction.objects.get(pk=response.json()["id"]).image.path)


def assert_refused(client, isolated_media, content: bytes, name: str, message: str):
    response = post_file(client, content, name)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert message in response.json()["error"]
    assert Prediction.objects.count() == 0 and not any(p.is_file() for p in Path(isolated_media).rglob("*"))


def costs(content: bytes) -> float:
    """The CPU seconds decoding the bytes takes, refused or not."""
    started = time.process_time()
    try:
        imaging.decode(content)
    except imaging.ImageRejected:
        pass
    return time.process_time() - started


def test_progressive_jpeg_with_a_thousand_scans_is_refused(client, isolated_media):
    content = hostile.progressive_jpeg(side=4000, scans=1000)
    assert len(content) < 200_000
    assert_refused(client, isolated_media, content, "scans.jpg", "the JPEG has more than 10 scans, the limit at 4000x4000")


def test_a_progressive_jpeg_of_many_megabytes_is_refused_and_its_baseline_twin_read(client, isolated_media):
    """Progressive, 8 MB of noise at 4096x4096 cost 0.3 s to decode: its data is read bit by bit, scan after
    scan, whatever the scale. The same picture as a camera writes it costs a tenth of that."""
    progressive = hostile.noisy_photo(3400, 3000, progressive=True)
    assert imaging.JPEG_MAX_BUFFERED_BYTES < len(progressive) < 10 * 2**20
    assert costs(progressive) < 0.1
    assert_refused(client, isolated_media, progressive, "noise.jpg",
                   f"the JPEG is {len(progressive):,} bytes and not in one scan of all its colours as a camera writes it")
    assert imaging.decode(hostile.noisy_photo(3400, 3000, progressive=False)).image.size == (850, 750)


@pytest.mark.parametrize("where", ["scan", "header"])
def test_a_run_of_0xff_bytes_costs_next_to_nothing(client, isolated_media, where):
    """200 KB of 0xFF: in a scan, the marker search backtracked for minutes, until gunicorn killed the
    worker; as the header's fill, Pillow read it a byte at a time in Python."""
    content = hostile.jpeg_with_ff_run(200_000, where)
    assert costs(content) < 0.1
    if where == "header":
        assert_refused(client, isolated_media, content, "run.jpg",
                       "the JPEG's header has more than 4,096 bytes of fill, junk or restart markers between its segments")


@pytest.mark.parametrize("kind", [b"iCCP", b"zTXt", b"iTXt"])
def test_a_png_of_thousands_of_chunks_pillow_inflates_is_refused_before_it_opens(client, isolated_media, kind):
    """4,000 of them in 4 MB cost Pillow 8 s to open (zTXt: 130 ms before its text limit refused it);
    the eight an editor might write are read."""
    assert costs(hostile.png_with_inflating_chunks(kind, 4000)) < 0.1
    assert_refused(client, isolated_media, hostile.png_with_inflating_chunks(kind, 9), "chunks.png",
                   "the PNG has more than 8 ICC profile and compressed text chunks")
    assert imaging.decode(hostile.png_with_inflating_chunks(kind, 8)).image.size == (64, 64)


def test_a_jpeg_of_thousands_of_exif_segments_is_refused(client, isolated_media):
    """Pillow copies the whole EXIF block at each segment: 9,900 of a kilobyte cost 1 to 20 s."""
    exif = EXIF_HEADER + b"A" * 1024
    assert costs(hostile.jpeg_with_segments(imaging.JPEG_APP1, exif, 9900)) < 0.1
    assert_refused(client, isolated_media, hostile.jpeg_with_segments(imaging.JPEG_APP1, exif, 5), "exif.jpg",
                   "the JPEG has more than 4 EXIF segments")
    assert imaging.decode(hostile.jpeg_with_segments(imaging.JPEG_APP1, exif, 4)).image.size == (64, 64)
    # Other APP1 segments (XMP) are not EXIF.
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x/>"
    assert imaging.decode(hostile.jpeg_with_segments(imaging.JPEG_APP1, xmp, 50)).image.size == (64, 64)


def test_a_jpeg_of_ten_megabytes_of_quantization_tables_is_refused(client, isolated_media):
    """Pillow reads each table in Python: 158 segments of a thousand tables cost 370 ms."""
    tables = b"".join(bytes([n % 4]) + bytes(range(1, 65)) for n in range(1000))
    assert costs(hostile.jpeg_with_segments(imaging.JPEG_QUANTIZATION, tables, 158)) < 0.1
    assert_refused(client, isolated_media, hostile.jpeg_with_segments(imaging.JPEG_QUANTIZATION, tables, 2),
                   "q.jpg", "the JPEG's quantization tables take more than 65,536 bytes")


def test_a_jpeg_of_ten_megabytes_of_photoshop_resources_is_refused(client, isolated_media):
    """Pillow walks Photoshop's resources in Python, 12 bytes a step: 155 segments of them cost 380 ms."""
    resources = b"Photoshop 3.0\x00" + (b"8BIM\x04\x04\x00\x00" + bytes(4)) * 5400
    assert costs(hostile.jpeg_with_segments(imaging.JPEG_PHOTOSHOP, resources, 155)) < 0.1
    assert_refused(client, isolated_media, hostile.jpeg_with_segments(imaging.JPEG_PHOTOSHOP, resources, 5),
                   "ps.jpg", "the JPEG's Photoshop (APP13) segments take more than 262,144 bytes")
    assert imaging.decode(hostile.jpeg_with_segments(imaging.JPEG_PHOTOSHOP, resources, 3)).image.size == (64, 64)


@pytest.mark.parametrize("padding, count", [(65_000, 150), (0, 1)], ids=["150 padded", "a second one"])
def test_a_jpeg_of_more_than_one_frame_header_is_refused(client, isolated_media, padding, count):
    """Pillow reads each frame header in Python, three bytes at a time: 150 padded ones cost 0.7 s and
    270 MB before libjpeg refused the file."""
    frame_header = b"\x08" + struct.pack(">HHB", 64, 64, 1) + b"\x01\x11\x00" + bytes(padding)
    content = hostile.jpeg_with_segments(0xC0, frame_header, count)
    assert costs(content) < 0.1
    assert_refused(client, isolated_media, content, "sof.jpg", "the JPEG's frame header is damaged or not its only one")


def test_a_png_of_megabytes_of_text_is_refused(client, isolated_media):
    """ImageMagick's EXIF text is split into lines and joined again each time the block is read: 10 MB of
    newlines cost 0.5 s and 160 MB, and were stored."""
    content = encode(Image.new("L", (64, 64), 255))
    idat = content.index(b"IDAT") - 4
    text = hostile.png_chunk(b"tEXt", b"Raw profile type exif\x00" + b"\n" * 10_000_000)
    assert costs(content[:idat] + text + content[idat:]) < 0.1
    assert_refused(client, isolated_media, content[:idat] + text + content[idat:], "text.png",
                   "the PNG's EXIF text ('Raw profile type exif') takes more than 1,048,576 bytes")
    # Other texts are only kept: Photoshop's XMP may take megabytes.
    xmp = hostile.png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + b"<x/>" * 500_000)
    assert imaging.decode(content[:idat] + xmp + content[idat:]).image.size == (64, 64)


@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt"])
def test_a_png_s_compressed_text_of_megabytes_is_left_unread(client, seven, kind):
    """Pillow refuses a picture whose compressed text unpacks past a megabyte ("Decompressed data too large for
    PngImagePlugin.MAX_TEXT_CHUNK", said as it was), where the same text uncompressed is read: an XMP packet
    of 2 MB, as ImageMagick writes it, or as an iTXt."""
    content = encode(render(seven))
    idat = content.index(b"IDAT") - 4
    packed = zlib.compress(b"<x:xmpmeta/>" * 200_000)
    header = {b"zTXt": b"Raw profile type xmp\0\0", b"iTXt": b"XML:com.adobe.xmp\0\1\0\0\0"}[kind]
    response = post_file(client, content[:idat] + hostile.png_chunk(kind, header + packed) + content[idat:], "xmp.png")
    assert response.status_code == 201, response.content
    assert response.json()["digit"] == 7


def test_a_12_bit_jpeg_is_refused_for_its_samples(client, isolated_media, seven):
    """Pillow refuses it as it reads its header, and it was called "not a PNG, JPEG or WebP image"."""
    buffer = io.BytesIO()
    render(seven).convert("L").save(buffer, "JPEG")
    content = bytearray(buffer.getvalue())
    frame = content.index(b"\xff\xc0")
    content[frame + 1], content[frame + 4] = 0xC1, 12
    assert_refused(client, isolated_media, bytes(content), "deep.jpg",
                   "the JPEG's samples are 12 bits; only 8-bit JPEGs are read: save it again as an ordinary JPEG")


def test_a_jpeg_header_of_restart_markers_is_refused(client, isolated_media):
    """Pillow walks them two bytes at a time in Python: five million in 10 MB cost 3 s."""
    assert costs(hostile.jpeg_with_restart_markers(5_000_000)) < 0.1
    assert_refused(client, isolated_media, hostile.jpeg_with_restart_markers(2049), "rst.jpg",
                   "the JPEG's header has more than 4,096 bytes of fill, junk or restart markers")
    assert imaging.decode(hostile.jpeg_with_restart_markers(100)).image.size == (64, 64)


def test_a_data_url_with_a_million_parameters_is_refused_at_once():
    text = "data:image/png" + ";a=b" * 1_000_000 + ",AAAA"
    started = time.process_time()
    with pytest.raises(imaging.ImageRejected, match="not valid base64"):
        imaging.from_data_url(text)
    assert time.process_time() - started < 0.1


def test_base64_in_short_lines_is_read_in_one_copy():
    """Fourteen megabytes of base64 in lines of four: splitting it into a list of lines cost 0.3 s and 200 MB.
    Measured in memory, which no other process sways: under a bound of 0.1 s, a busy machine took 0.108 s."""
    text = "QUJD " * 2_800_000
    tracemalloc.start()
    try:
        content = imaging.from_data_url(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert content == b"ABC" * 2_800_000
    # The text without its spaces, and the bytes decoded from it.
    assert peak < 3 * len(text)


def test_a_small_drawing_may_have_many_progressive_scans(client, seven):
    buffer = io.BytesIO()
    render(seven, Style(canvas=140, digit_size=110)).save(buffer, "JPEG", progressive=True)
    assert post_file(client, buffer.getvalue(), "small.jpg").json()["digit"] == 7


@pytest.mark.parametrize("cut", [16, 20, 25])
def test_a_png_cut_inside_its_header_is_refused(client, isolated_media, seven, cut):
    assert_refused(client, isolated_media, encode(render(seven))[:cut], "cut.png", "image:")


def test_png_with_150000_empty_chunks_is_refused(client, isolated_media):
    assert_refused(client, isolated_media, hostile.png_with_empty_chunks(150_000), "chunks.png",
                   "the PNG has more than 4,096 chunks")


def test_tiny_png_declaring_huge_dimensions_is_refused_before_decoding(client, isolated_media):
    content = hostile.huge_png(side=4096, mode="RGBA")
    assert len(content) < 100_000
    assert_refused(client, isolated_media, content, "sheet.png", "4096x4096 is 64.0 MiB as read")


def test_a_palette_png_is_budgeted_as_the_rgba_it_is_read_through(client, isolated_media):
    """A bit a pixel on disk: Pillow holds a byte a pixel, and the preprocessing reads it as RGBA."""
    content = hostile.huge_png(side=4096, mode="P")
    assert_refused(client, isolated_media, content, "palette.png", "4096x4096 is 64.0 MiB as read")


@pytest.mark.parametrize("mode", ["1", "P"])
def test_a_1_bit_or_palette_drawing_larger_than_what_is_stored_is_read_and_stored(client, mode):
    """Pillow shrinks no 1-bit or palette image: shrinking one to the stored side was a 500."""
    drawing = Image.new("L", (1500, 1500), 255)
    ImageDraw.Draw(drawing).line([(700, 200), (760, 1300)], fill=0, width=60)
    response = post_file(client, encode(drawing.convert(mode)), f"{mode}.png")
    assert response.json()["digit"] == 1
    with Image.open(stored_file(response)) as stored:
        assert stored.size == (750, 750) and stored.mode == ("L" if mode == "1" else "RGB")


def test_a_grey_png_within_the_decoded_budget_is_read(client, seven):
    drawing = render(seven, Style(canvas=4096, digit_size=3000)).convert("L")
    assert post_file(client, encode(drawing), "grey.png").json()["digit"] == 7


@pytest.mark.parametrize("source", ["api", "upload"])
def test_a_16_bit_grey_png_keeps_its_grey_levels(client, seven, source):
    """Grey ink on 16-bit paper: levels 20,000 to 60,000 of 65,535, which clipping to 8 bits would make all white."""
    paper = np.asarray(render(seven).convert("L"), dtype=np.float64) / 255
    wide = Image.fromarray(np.round(20_000 + 40_000 * paper).astype(np.uint16))
    assert wide.mode == "I;16"
    response = client.post(URL, {"image": named(encode(wide), "wide.png"), "source": source})
    assert response.json()["digit"] == 7
    with Image.open(stored_file(response)) as stored:
        assert stored.mode == "L" and stored.getextrema() == (78, 234)


def sixteen_bit_rgba_png(image: Image.Image) -> bytes:
    """The picture as a PNG of 16-bit RGBA samples, which Pillow reads but does not write."""
    pixels = np.asarray(image.convert("RGBA"), dtype=np.uint16) * 257
    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in pixels)
    header = struct.pack(">IIBBBBB", image.width, image.height, 16, 6, 0, 0, 0)
    return imaging.PNG_SIGNATURE + hostile.png_chunk(b"IHDR", header) + hostile.png_chunk(b"IDAT", zlib.compress(rows)) + \
        hostile.png_chunk(b"IEND")


def test_a_16_bit_rgba_png_the_page_sends_as_it_is_is_read(client, seven):
    """Pillow holds 16-bit colour as 8-bit: counted at two bytes a sample, a 1600x1600 photo (9.8 MiB as read,
    and a PNG the page sends unshrunk) was refused as 19.5 MiB, over the 16 MiB of "2048x2048 with colour and
    alpha"."""
    content = sixteen_bit_rgba_png(render(seven, Style(canvas=1600, digit_size=1000)))
    response = client.post(URL, {"image": named(content, "wide.png"), "source": "upload"})
    assert response.status_code == 201, response.content
    assert response.json()["digit"] == 7


# Measured in a process of its own: tracemalloc counts every thread's allocations, and a test worker may
# still have a live server's threads at work, or PyTorch's.
NARROWING_PEAK = """
import io, sys, tracemalloc
import numpy as np
from PIL import Image
from recognizer import imaging

side = int(sys.argv[1])
levels = (np.add.outer(np.arange(side), np.arange(side)) * 7 % 40_000 + 20_000).astype(np.uint16)
buffer = io.BytesIO()
Image.fromarray(levels).save(buffer, "PNG", compress_level=1)
tracemalloc.start()
narrowed = imaging.decode(buffer.getvalue()).image
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
assert narrowed.mode == "L" and np.array_equal(np.asarray(narrowed), (levels >> 8).astype(np.uint8))
print(peak)
"""


def test_a_16_bit_grey_png_is_narrowed_without_widening_it_first():
    """Its levels were widened to 32 bits before they were narrowed to 8: 8 bytes of Python's memory a pixel
    beside Pillow's own, 90 MB for an 8-megapixel PNG of a few hundred kilobytes."""
    side = 2048
    measured = subprocess.run([sys.executable, "-c", NARROWING_PEAK, str(side)], cwd=settings.BASE_DIR,
                              env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
                              capture_output=True, text=True, timeout=120)
    assert measured.returncode == 0, measured.stderr
    peak = int(measured.stdout)
    assert peak <= 5 * side * side, f"{peak / side ** 2:.1f} bytes a pixel"


def test_a_drawing_on_transparency_uploaded_as_a_photo_is_read(client, seven):
    """A drawing exported with a transparent background, sent through the photo button: what is transparent
    is paper, as for a drawing, whatever colour its invisible pixels have."""
    content = encode(render(seven, Style(ink="alpha")))
    assert client.post(URL, {"image": named(content, "exported.png"), "source": "upload"}).json()["digit"] == 7


def test_a_large_jpeg_is_decoded_at_reduced_scale_and_stored_bounded(client, seven):
    content = encode(render(seven, Style(canvas=4096, digit_size=3000)), "JPEG")
    assert imaging.decode(content).image.size == (512, 512)  # libjpeg's 1/8 scale
    path = stored_file(post_file(client, content, "photo.jpg"))
    with Image.open(path) as stored:
        assert stored.format == "JPEG" and max(stored.size) <= imaging.STORED_MAX_SIDE


def on_paper(digit: np.ndarray, width: int, height: int) -> Image.Image:
    """A digit on paper as a camera sees it, with the sensor's noise."""
    ink = np.zeros((height, width), np.float32)
    side = height // 2
    ink[height // 4:height // 4 + side, width // 3:width // 3 + side] = np.asarray(
        Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR)) / 255
    paper = np.array([214, 210, 200], np.float32)
    noise = np.random.default_rng(0).normal(0, 6, (height, width, 1)).astype(np.float32)
    return Image.fromarray(np.clip(paper * (1 - 0.8 * ink[..., None]) + noise, 0, 255).astype(np.uint8))


def camera_photo(digit: np.ndarray, width: int = 6000, height: int = 4500) -> bytes:
    """A digit on paper as a 27-megapixel camera writes it: one scan."""
    buffer = io.BytesIO()
    on_paper(digit, width, height).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def test_a_photo_as_the_camera_wrote_it_is_read(client, seven):
    """A phone's photo sent to the API as it is: more than 4096 pixels a side and 4 MiB, which were refused."""
    content = camera_photo(seven)
    assert len(content) > 4 * 2**20
    response = client.post(URL, {"image": named(content, "IMG_0001.jpg"), "source": "upload"})
    assert response.json()["digit"] == 7
    with Image.open(stored_file(response)) as stored:
        assert stored.format == "JPEG" and max(stored.size) <= imaging.STORED_MAX_SIDE


@pytest.mark.parametrize("scans", [1, 2])
def test_a_progressive_jpeg_larger_than_libjpeg_may_hold_is_refused(client, isolated_media, scans):
    """A progressive frame makes libjpeg hold every coefficient, 2 bytes a sample: 150 MB at 5000x5000, even
    when its first scan is its only one."""
    content = hostile.progressive_jpeg(side=5000, scans=2)
    if scans == 1:
        first = content.index(b"\xff\xda")
        content = content[:content.index(b"\xff\xda", first + 2)] + b"\xff\xd9"
    assert_refused(client, isolated_media, content, "progressive.jpg",
                   "the JPEG is 5000x5000 pixels, not in one scan of all its colours as a camera writes it")


def test_animated_png_reads_its_first_frame_only(client, seven):
    first = render(seven, Style(canvas=140, digit_size=110))
    others = [Image.new("RGB", first.size, shade) for shade in ("black", "white")]
    buffer = io.BytesIO()
    first.save(buffer, "PNG", save_all=True, append_images=[others[i % 2] for i in range(1999)])
    with Image.open(io.BytesIO(buffer.getvalue())) as sent:
        assert sent.n_frames == 2000
    response = post_file(client, buffer.getvalue(), "animated.png")
    assert response.json()["digit"] == 7
    with Image.open(stored_file(response)) as stored:
        assert not getattr(stored, "is_animated", False)
        assert stored.tobytes() == first.tobytes()


def test_animation_beyond_the_chunk_budget_is_refused(client, isolated_media):
    assert_refused(client, isolated_media, hostile.animated_png(frames=3000), "long.png", "chunks")


def test_photo_is_stored_upright_without_its_metadata(client, seven):
    upright = render(seven, Style(canvas=280, digit_size=220))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # the camera was turned: rotate 90 degrees clockwise to view
    exif[ExifTags.Base.Make] = "CameraMaker"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({ExifTags.GPS.GPSLatitudeRef: "N",
                                                ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0)})
    buffer = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(buffer, "JPEG", quality=95, exif=exif.tobytes(),
                                                      icc_profile=b"ICC-PROFILE-OF-THE-CAMERA")
    content = buffer.getvalue() + b"BYTES-AFTER-THE-END"

    response = post_file(client, content, "photo.jpg")
    assert response.json()["digit"] == 7
    stored_bytes = stored_file(response).read_bytes()
    for secret in (b"Exif", b"CameraMaker", b"ICC", b"BYTES-AFTER-THE-END"):
        assert secret not in stored_bytes
    assert stored_bytes.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(stored_bytes)) as stored:
        assert stored.format == "JPEG" and not stored.getexif() and "icc_profile" not in stored.info
        difference = [abs(a - b) for a, b in zip(stored.convert("L").tobytes(), upright.convert("L").tobytes())]
    assert sum(difference) / len(difference) < 3


def test_png_is_stored_without_text_chunks_or_appended_bytes(client, seven):
    drawing = render(seven, Style(canvas=140, digit_size=110))
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "SECRET-TEXT-CHUNK")
    buffer = io.BytesIO()
    drawing.save(buffer, "PNG", pnginfo=text)
    content = buffer.getvalue() + b"BYTES-AFTER-IEND"

    stored_bytes = stored_file(post_file(client, content, "drawing.png")).read_bytes()
    assert b"SECRET-TEXT-CHUNK" not in stored_bytes and b"tEXt" not in stored_bytes
    assert stored_bytes.endswith(b"IEND\xaeB`\x82")
    with Image.open(io.BytesIO(stored_bytes)) as stored:
        assert stored.format == "PNG" and stored.tobytes() == drawing.tobytes()


def test_an_exif_bomb_is_read_at_a_camera_block_s_cost(client, seven):
    """A PNG's eXIf chunk has no size limit: 65,535 tags cost Pillow's exif_transpose about two seconds."""
    drawing = render(seven, Style(canvas=280, digit_size=220))
    content = hostile.with_exif(drawing, hostile.exif_block(first_tags=65_535), "PNG")
    started = time.process_time()
    imaging.decode(content)
    assert time.process_time() - started < 0.1
    assert post_file(client, content, "bomb.png").json()["digit"] == 7


def test_an_exif_block_pillow_cannot_write_out_again_is_no_500(client, seven):
    """Tag 0x0109 written as text beside an orientation of 6: the photo is still turned upright."""
    upright = render(seven, Style(canvas=280, digit_size=220)).convert("RGB")
    content = hostile.with_exif(upright.transpose(Image.Transpose.ROTATE_90), hostile.MISTYPED_EXIF_BLOCK, "JPEG")
    response = post_file(client, content, "mistyped.jpg")
    assert response.status_code == 201 and response.json()["digit"] == 7


def test_noise_is_stored_within_the_byte_budget(client):
    """A 1000x1000 RGBA noise PNG is 4 MB: stored as sent, 120 a minute would fill 29 GB an hour."""
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (1000, 1000, 4), dtype=np.uint8), "RGBA")
    content = encode(noise)
    assert len(content) > 4_000_000
    stored = stored_file(post_file(client, content, "noise.png"))
    assert stored.stat().st_size <= imaging.STORED_MAX_BYTES
    with Image.open(stored) as image:
        assert image.size == (500, 500) and image.mode == "RGBA"


def test_noise_is_encoded_whole_once_at_the_size_it_is_stored(monkeypatch):
    """Halved until it fit, a 2048x2048 noise PNG was encoded whole at 1024 pixels (163 ms) before 512, the
    costliest part of the costliest uploads; a sample of its rows says such a size is past the budget. A
    drawing as large, which fits, is stored at the largest side as before."""
    encoded_sides = []
    encode_image = imaging.encoded

    def counting(image, format):
        encoded_sides.append(image.size)
        return encode_image(image, format)

    monkeypatch.setattr(imaging, "encoded", counting)
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (1448, 1448, 4), dtype=np.uint8), "RGBA")
    decoded = imaging.decode(encode(noise))
    with Image.open(io.BytesIO(decoded.content)) as stored:
        assert stored.size == (362, 362) and len(decoded.content) <= imaging.STORED_MAX_BYTES
    # Besides the sample of its rows, 128 high.
    assert [side for side in encoded_sides if side[1] > 200] == [(362, 362)], encoded_sides

    encoded_sides.clear()
    drawing = Image.new("RGBA", (2048, 2048), "white")
    ImageDraw.Draw(drawing).line([(1000, 300), (1000, 1700)], fill="black", width=120)
    with Image.open(io.BytesIO(imaging.decode(encode(drawing)).content)) as stored:
        assert stored.size == (1024, 1024)


def saved(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def test_a_webp_photo_is_read_upright_and_stored_as_jpeg(client, seven):
    """Stored sideways with an orientation tag, a WebP photo is read and kept upright, as a JPEG
    without its metadata; it was "not a PNG or JPEG image"."""
    upright = on_paper(seven, 1200, 900)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "CameraMaker"
    content = saved(upright.transpose(Image.Transpose.ROTATE_90), "WEBP", quality=80, exif=exif.tobytes())
    response = client.post(URL, {"image": named(content, "photo.webp")})
    assert response.json()["digit"] == 7
    stored_bytes = stored_file(response).read_bytes()
    assert b"CameraMaker" not in stored_bytes
    with Image.open(io.BytesIO(stored_bytes)) as stored:
        # Landscape, as the camera meant it, and halved as libjpeg halves a JPEG of that size.
        assert stored.format == "JPEG" and stored.size == (600, 450) and not stored.getexif()


HOSTILE_FILES = Path(__file__).parent / "hostile_files"


@pytest.mark.parametrize("name", ["heic_grid_992_references_to_one_8192_tile.heic",
                                  "avif_declaring_64x64_coded_8192.avif"])
def test_heic_and_avif_are_refused_unread(client, isolated_media, name):
    """Read through pillow-heif and Pillow's AVIF plugin, this 17 KB HEIC (a 4096x3072 grid whose 992
    tiles are one 8192x8192 picture) cost minutes of CPU, and this 1 KB AVIF (8192x8192 declared
    64x64) 140 MB: neither container can be checked before its decoder runs."""
    content = (HOSTILE_FILES / name).read_bytes()
    started = time.process_time()
    with pytest.raises(imaging.ImageRejected):
        imaging.decode(content)
    assert time.process_time() - started < 0.1
    assert_refused(client, isolated_media, content, name, "the file is not a PNG, JPEG or WebP image")


def test_a_drawing_on_transparency_in_webp_is_read_and_stored_with_it(client, seven):
    drawing = render(seven, Style(ink="alpha"))
    response = post_file(client, saved(drawing, "WEBP", lossless=True), "drawing.webp")
    assert response.json()["digit"] == 7
    with Image.open(stored_file(response)) as stored:
        assert stored.format == "PNG" and stored.mode == "RGBA"
        assert np.array_equal(np.asarray(stored)[..., 3], np.asarray(drawing)[..., 3])


def test_a_large_webp_reaches_the_model_at_the_size_a_jpeg_does(seven):
    photo = on_paper(seven, 1100, 824)
    as_jpeg = imaging.decode(saved(photo, "JPEG", quality=80)).image
    assert as_jpeg.size == (550, 412)  # libjpeg's half scale
    assert imaging.decode(saved(photo, "WEBP", quality=80)).image.size == as_jpeg.size


def test_a_tiny_webp_declaring_a_canvas_past_the_pixel_budget_is_refused_before_decoding(client, isolated_media):
    """140 bytes of animated WebP declaring a 4100x3100 canvas cost Pillow 115 ms to compose; at
    8192x8192, half a second and 270 MB. Refused from its header, it costs nothing."""
    content = hostile.webp_declaring(1700, 1600)
    started = time.process_time()
    with pytest.raises(imaging.ImageRejected):
        imaging.decode(content)
    assert time.process_time() - started < 0.1
    assert_refused(client, isolated_media, content, "canvas.webp",
                   "the image is 1700x1600 pixels; a WebP may have at most 2.6 megapixels (1600x1600)")


def test_an_animated_webp_reads_its_first_frame_only(client, seven):
    first = render(seven, Style(canvas=140, digit_size=110)).convert("RGB")
    others = [Image.new("RGB", first.size, shade) for shade in ("black", "white")]
    content = saved(first, "WEBP", lossless=True, save_all=True, append_images=[others[i % 2] for i in range(99)])
    response = post_file(client, content, "animated.webp")
    assert response.json()["digit"] == 7
    with Image.open(stored_file(response)) as stored:
        # Pillow composes an animated WebP's frames in RGBA; opaque throughout, it is stored as a JPEG.
        assert stored.format == "JPEG"
        difference = np.abs(np.asarray(stored.convert("L"), int) - np.asarray(first.convert("L"), int))
    assert difference.mean() < 3


def test_a_truncated_webp_is_refused(client, isolated_media, seven):
    content = saved(on_paper(seven, 400, 300), "WEBP", quality=80)
    response = post_file(client, content[:len(content) // 2], "photo.webp")
    assert response.status_code == 400, response.content
    assert Prediction.objects.count() == 0 and not any(p.is_file() for p in Path(isolated_media).rglob("*"))
