"""Phone photos of written digits: lighting, shadows, glare, boards, polarity, sideways storage, the API."""

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps
from scipy import ndimage

from mlcore import photo
from mlcore.datasets.drawn import digit_strokes, place
from mlcore.datasets.negatives import not_digits
from mlcore.datasets.photos_synth import VARIANTS, photograph, synthetic_photos
from mlcore.exif import ORIENTATION
from mlcore.photo import photo_ink, screen
from mlcore.predict import PHOTO_NOT_A_DIGIT
from mlcore.preprocess import BlankDrawingError, to_mnist_input
from mlcore.render import render_strokes
from recognizer import imaging

from .photographs import cropped_to_the_digit, ink_points, paper_photos, read

URL = "/api/predictions/"


def test_synthetic_photos_of_test_digits_are_read(mnist_test, predictor):
    """80 photos, 10 of each variant, of MNIST test digits: the digit small in a 1600x1200 frame."""
    indices = np.random.default_rng(11).choice(len(mnist_test.labels), size=80, replace=False)
    photos = synthetic_photos(mnist_test.images[indices], mnist_test.labels[indices], seed=11)
    right = read([photo.open() for photo in photos], predictor) == mnist_test.labels[indices]
    # benchmarks/photos.py measures it on more photos (README, "Photos").
    assert right.mean() >= 0.97, f"read {right.mean():.1%} of the photos right"
    for n, variant in enumerate(VARIANTS):
        assert right[n::len(VARIANTS)].mean() >= 0.9, f"{variant}: {right[n::len(VARIANTS)].mean():.0%}"


def test_a_digit_small_in_the_frame_is_read_from_a_close_up(mnist_test, predictor):
    """A digit 4 to 6 % of the frame's height is a dozen pixels at the working resolution. Read again
    from a close-up of the original pixels around it, 78 of 80 such photos were read right, 74 without; of
    the first 40, read here, 38."""
    labels = mnist_test.labels[400:440]
    photos = synthetic_photos(mnist_test.images[400:440], labels, seed=71, sizes=(0.05, 0.08))
    right = read([photo.open() for photo in photos], predictor) == labels
    assert right.mean() >= 0.95, f"read {right.mean():.1%} of the photos right"


def test_today_s_drawing_preprocessing_fails_on_the_same_photos(mnist_test, predictor):
    """The photo path is what makes the difference: read as drawings, most photos are wrong."""
    photos = synthetic_photos(mnist_test.images[:20], mnist_test.labels[:20], seed=12)
    as_drawings = np.stack([to_mnist_input(photo.open()) for photo in photos])
    assert (predictor.probabilities(as_drawings).argmax(axis=1) == mnist_test.labels[:20]).mean() < 0.5


def hard_shadow(photo, shape: str, angle: float, depth: float = 0.5) -> Image.Image:
    """The photo under a sharp shadow: a straight edge through the digit's middle ("edge"), or a
    wedge whose apex touches the digit's ink ("tip"), reaching out along `angle`."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    centre, along = points.mean(axis=0), np.array([np.cos(angle), np.sin(angle)])
    far = 4 * max(image.size)
    if shape == "edge":
        across = np.array([-along[1], along[0]])
        corners = [centre - far * across, centre + far * across,
                   centre + far * (across + along), centre + far * (along - across)]
    else:
        apex = centre + ((points - centre) @ along).max() * along
        corners = [apex] + [apex + far * np.array([np.cos(angle + turn), np.sin(angle + turn)]) for turn in (-0.3, 0.3)]
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).polygon([tuple(corner) for corner in corners], fill=255)
    light = 1 - depth * np.asarray(mask, dtype=np.float32)[..., np.newaxis] / 255
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.asarray(image, dtype=np.float32) * light, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def shadowed_paper(mnist_train, count: int, shape: str):
    """Photos of MNIST training digits on plain paper, each with its hard shadow, and each
    digit's ink found without the shadow."""
    for n in range(2000, 2000 + count):
        rng = np.random.default_rng([3, n])
        photo = photograph(mnist_train.images[n], int(mnist_train.labels[n]), "paper", rng)
        yield photo, hard_shadow(photo, shape, rng.uniform(0, 2 * np.pi)), photo_ink(photo.open()) > 0


def test_a_shadow_edge_across_the_digit_keeps_both_halves(mnist_train, predictor):
    """Half the digit in a deep, sharp shadow: the shadow must not flow along the strokes into
    the lit half and erase it, nor erase the half in shadow."""
    kept = []
    for photo, shadowed, clean in shadowed_paper(mnist_train, 8, "edge"):
        assert predictor.predict(to_mnist_input(shadowed, photo=True), photo=True).digit == photo.label
        kept.append((photo_ink(shadowed) > 0)[clean].mean())
    assert np.mean(kept) >= 0.85, kept


def test_a_shadow_tip_touching_the_digit_leaves_at_most_its_apex(mnist_train, predictor):
    """A sharp wedge of shadow pointing at the digit, its apex on the ink: on the first 12 the wedge
    is background but for its apex, and the digit's own ink is all found (further on, a wedge can
    leave more ink than the digit has). What is left of the apex still misleads the model about half
    the time: of 30 such, v1 read 20, v3_1 15 and v4 16 (of 60: 42, 31 and 35), the hardest
    photos there are (`docs/photos.md`). The first 15 are read here: the served model reads 11."""
    right = 0
    for n, (photo, shadowed, clean) in enumerate(shadowed_paper(mnist_train, 15, "tip")):
        if n < 12:
            ink = photo_ink(shadowed) > 0
            assert ink[clean].mean() >= 0.8
            beyond = ink & ~ndimage.binary_dilation(clean, iterations=3)
            assert beyond.sum() <= 0.75 * clean.sum()
        right += predictor.predict(to_mnist_input(shadowed, photo=True), photo=True).digit == photo.label
    assert right >= 8, f"read {right} of the 15 photos right"


def under_a_band_of_shadow(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The MNIST digit's strokes written with a thin pen (4 of 1600 pixels) on plain paper, under a band of sharp
    shadow a third to half the frame wide (a pole's, a window frame's) whose edge runs through the digit."""
    width, height = 1200, 1600
    side = int(rng.uniform(350, 600))
    strokes = [stroke.tolist() for stroke in place(digit_strokes(digit), rng)]
    ink = 1 - np.asarray(render_strokes(strokes, side=side, pen_width=4 / side), np.float32) / 255
    paper = np.full((height, width), rng.uniform(200, 240), np.float32)
    left = (width - side) // 2 + int(rng.integers(-150, 150))
    top = (height - side) // 2 + int(rng.integers(-150, 150))
    paper[top:top + side, left:left + side] *= 1 - 0.8 * ink
    rows, cols = np.nonzero(ink > 0.5)
    angle = rng.uniform(0, np.pi)
    along, across = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
    edge = np.array([left + cols.mean(), top + rows.mean()]) + rng.uniform(-0.15, 0.15) * side * across
    band, far = rng.uniform(0.3, 0.6) * width, 4 * height
    corners = [edge - far * along, edge + far * along, edge + far * along + band * across, edge - far * along + band * across]
    shadow = Image.new("L", (width, height), 0)
    ImageDraw.Draw(shadow).polygon([tuple(corner) for corner in corners], fill=255)
    shadow = np.asarray(shadow.filter(ImageFilter.GaussianBlur(rng.uniform(1, 4))), np.float32) / 255
    pixels = paper * (1 - rng.uniform(0.35, 0.55) * shadow) + rng.normal(0, 3, paper.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert("RGB").save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_thin_pen_s_digit_running_into_a_shadow_is_read_whole(mnist_test, predictor):
    """A thin pen's digit is a long thin mark, and with the shadow darker beside part of it, it passed for a
    sheet's edge on a desk: only what lay apart from it was read, or nothing. Now an edge must lie along the
    step of tone (`marks.ON_STEP`): of 40 such photos, 25 were read right before, 33 since; the first 20 are
    read here, 15 right."""
    rng = np.random.default_rng(5)
    photos = [under_a_band_of_shadow(digit, rng) for digit in mnist_test.images[900:920]]
    right = read(photos, predictor) == mnist_test.labels[900:920]
    assert right.mean() >= 0.7, f"read {right.mean():.1%} of the photos right"


def under_window_blinds(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The MNIST digit's strokes in a thin pen (3 to 8 of 1200 pixels) on paper, the sheet filling the frame
    or lying on a coloured desk, under the stripes of shadow a window blind's slats cast across both: 6 to 18
    % of the frame apart, a third to two thirds of that wide, their edges sharp or soft."""
    width, height = 1200, 900
    pixels = np.ones((height, width, 3), np.float32) * rng.uniform(40, 200, 3).astype(np.float32)
    if rng.random() < 0.5:
        sheet_w, sheet_h = int(width * rng.uniform(0.55, 0.8)), int(height * rng.uniform(0.6, 0.85))
        sheet_x, sheet_y = int(rng.integers(0, width - sheet_w)), int(rng.integers(0, height - sheet_h))
    else:
        sheet_x, sheet_y, sheet_w, sheet_h = 0, 0, width, height
    pixels[sheet_y:sheet_y + sheet_h, sheet_x:sheet_x + sheet_w] = rng.uniform(205, 245)
    side = int(min(sheet_w, sheet_h) * rng.uniform(0.3, 0.55))
    strokes = [stroke.tolist() for stroke in place(digit_strokes(digit), rng)]
    ink = 1 - np.asarray(render_strokes(strokes, side=side, pen_width=rng.uniform(3, 8) / side), np.float32) / 255
    left = sheet_x + (sheet_w - side) // 2 + int(rng.integers(-sheet_w // 8, sheet_w // 8 + 1))
    top = sheet_y + (sheet_h - side) // 2 + int(rng.integers(-sheet_h // 8, sheet_h // 8 + 1))
    cover = rng.uniform(0.75, 0.95) * ink[..., np.newaxis]
    region = pixels[top:top + side, left:left + side]
    pixels[top:top + side, left:left + side] = region * (1 - cover) + rng.uniform(10, 60, 3) * cover
    angle, period = rng.uniform(0, np.pi), rng.uniform(0.06, 0.18) * width
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    across = (cols * np.cos(angle) + rows * np.sin(angle)) / period + rng.uniform(0, 1)
    stripes = Image.fromarray(((across % 1 < rng.uniform(0.35, 0.65)) * 255).astype(np.uint8))
    shade = np.asarray(stripes.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 6))), np.float32) / 255
    pixels *= (1 - rng.uniform(0.3, 0.6) * shade)[..., np.newaxis]
    pixels += rng.normal(0, 3, pixels.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_digit_under_a_window_blind_s_stripes_of_shadow_is_read(mnist_test, predictor):
    """Stripes of shadow narrower than the background's window were ink to it, and the digit one mark among
    them, or none: of 30 such, 1 was read right before, 21 with the window narrowed (`surface.striped`), 23
    with the stripes divided out along their length first (`surface.without_stripes`); the first 15 are
    read here, 11 right (9 with the window narrowed alone)."""
    rng = np.random.default_rng(23)
    photos = [under_window_blinds(digit, rng) for digit in mnist_test.images[1500:1515]]
    right = read(photos, predictor) == mnist_test.labels[1500:1515]
    assert right.sum() >= 11, f"read {right.sum()} of the 15 photos right"


def test_a_blind_s_stripes_are_divided_out_along_their_length_and_the_strokes_kept():
    """Sharp stripes of shadow at 30 degrees, half the paper's light, across a digit's two strokes: one along
    them, one across. Divided out, the paper is one tone again, and both strokes as dark against it."""
    rows, cols = np.mgrid[0:288, 0:384].astype(np.float32)
    along = np.array([np.sin(np.radians(30)), np.cos(np.radians(30))])
    shaded = ((cols * -along[0] + rows * along[1]) // 20) % 2 == 1
    grey = np.where(shaded, 0.45, 0.9).astype(np.float32)
    stroke = np.zeros_like(grey, dtype=bool)
    for t in range(60):
        stroke[round(100 + t * along[0]), round(150 + t * along[1])] = True
        stroke[100 + t, 150] = True
    stroke = ndimage.binary_dilation(stroke, iterations=1)
    grey[stroke] *= 0.25
    flat = photo.surface.without_stripes(grey, along)
    paper = ~ndimage.binary_dilation(stroke, iterations=3)
    assert np.mean(np.abs(flat[paper] - 0.9) < 0.05) > 0.95
    assert flat[stroke].max() < 0.5 * 0.9
    # Left whole, the stripes were half the paper's light.
    assert np.mean(np.abs(grey[paper] - 0.9) < 0.05) < 0.6


def test_paper_mostly_in_shadow_is_not_a_blackboard(mnist_train, predictor):
    """A shadow and a dim side darken most of the frame (its median is board-dark), yet the
    lit paper left decides: the ink is the dark pen, not the lit paper between shadows."""
    photos = [photograph(mnist_train.images[n], int(mnist_train.labels[n]), "shadow", np.random.default_rng([1, n]))
              for n in (34, 58, 98, 218, 226)]
    assert all(np.median(np.asarray(photo.open().convert("L"))) < 128 for photo in photos)
    assert (read([photo.open() for photo in photos], predictor) == [photo.label for photo in photos]).all()


def in_dim_light(photo, rng: np.random.Generator) -> Image.Image:
    """The photo taken in a dim room: a fifth to two fifths as bright, warm, noisy, soft and
    compressed hard, as a phone's camera leaves it."""
    warm_and_dim = rng.uniform(0.2, 0.4) * np.float32([1, 0.9, 0.7])
    pixels = np.asarray(photo.open().convert("RGB"), dtype=np.float32) * warm_and_dim
    pixels += rng.normal(0, rng.uniform(6, 12), pixels.shape).astype(np.float32)
    dim = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))
    buffer = io.BytesIO()
    dim.save(buffer, "JPEG", quality=int(rng.integers(20, 45)))
    return Image.open(buffer)


def dim_paper(mnist_test, count: int) -> tuple[list[Image.Image], np.ndarray]:
    return paper_photos(mnist_test, 500, count, 81, in_dim_light)


def test_paper_in_dim_light_is_read_both_ways_and_the_model_weighs_them(mnist_test, predictor):
    """In a dim room even the lit paper is as dark as a blackboard: taken for one, the photo was
    inverted and its noise read as chalk, and none of 20 such was read right (all 20 since). Where
    the surface says board and the marks say dark ink, the photo is read both ways and the reading
    the model finds likelier one digit is kept. The first 10 are read here, all right."""
    photos, labels = dim_paper(mnist_test, 10)
    assert (read(photos, predictor) == labels).mean() >= 0.85


def under_a_flash(photo, rng: np.random.Generator) -> Image.Image:
    """The photo with a flash's glare on the digit: a soft round blob, its radius a third to a half
    of the digit's extent, centred on one of its ink pixels, mixing paper and ink alike 85 % of
    the way to white at its middle, so the ink under it is washed out but still darker than the
    paper."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    centre = points[rng.integers(len(points))]
    radius = rng.uniform(0.35, 0.5) * np.ptp(points, axis=0).max()
    ys, xs = np.mgrid[0:image.height, 0:image.width].astype(np.float32)
    glare = 0.85 * np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / radius ** 2)[..., np.newaxis]
    pixels = np.asarray(image, dtype=np.float32) * (1 - glare) + 255 * glare
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_ink_washed_out_by_a_flash_s_glare_is_still_read(mnist_test, predictor):
    """Glare is light the paper and the ink reflect alike: divided by the glaring background, the
    ink under it was too faint and strokes were lost (26 of 40 such photos read right). Divided by the
    paper's share of the background only, 35 were: a stroke the glare lifts above the paper around
    it was still a channel down which the shadow's reconstruction flowed, its background the
    stroke itself. With the closing as the background under the glare, 39 were; of the first 20, read
    here, 19 are."""
    labels = mnist_test.labels[600:620]
    photos = []
    for n, (image, label) in enumerate(zip(mnist_test.images[600:620], labels)):
        rng = np.random.default_rng([91, n])
        photos.append(under_a_flash(photograph(image, int(label), "paper", rng), rng))
    assert (read(photos, predictor) == labels).sum() >= 18


def in_pencil_with_sheen(photo, rng: np.random.Generator) -> Image.Image:
    """The photo's digit in pencil: half as dark, broken by the graphite's grain, and lifted 40 grey levels
    more where a glancing light's sheen crosses its strokes, a band a tenth of the frame wide."""
    pixels = np.asarray(photo.open().convert("RGB"), dtype=np.float32)
    grey = pixels.mean(axis=2)
    paper = ndimage.grey_closing(grey, size=41)
    darkness = np.clip((paper - grey) / np.maximum(paper, 1), 0, 1)
    grain = ndimage.gaussian_filter(rng.uniform(0.4, 1.0, grey.shape), 1.0)
    ys, xs = np.mgrid[0:grey.shape[0], 0:grey.shape[1]].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    across = np.cos(angle) * (xs - xs.mean()) + np.sin(angle) * (ys - ys.mean()) + rng.normal(0, 60)
    sheen = np.exp(-(across / (0.06 * grey.shape[0])) ** 2)
    strokes = ndimage.gaussian_filter(ndimage.binary_dilation(darkness > 0.15, iterations=2).astype(np.float32), 1.5)
    lifted = pixels + ((1 - 0.5 * grain) * darkness * paper + 40 * sheen * strokes)[..., np.newaxis]
    buffer = io.BytesIO()
    Image.fromarray(np.clip(lifted, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return Image.open(buffer)


def test_a_faint_pencil_s_strokes_are_read_whole(mnist_test, predictor):
    """Under MIN_INK, the faint parts of a pencil's strokes were no ink, and the digit was read from its
    darker fragments (35 of 40 such photos read right; an independent audit's thin pencil with sheen, 9 of
    40). Grown from the digit's marks through the faint ink joined to them, 38 were (the audit's, 19); of
    the first 20, read here, 19 are."""
    labels = mnist_test.labels[700:720]
    photos = []
    for n, (image, label) in enumerate(zip(mnist_test.images[700:720], labels)):
        rng = np.random.default_rng([93, n])
        photos.append(in_pencil_with_sheen(photograph(image, int(label), "paper", rng), rng))
    assert (read(photos, predictor) == labels).sum() >= 18


def test_a_photo_whose_polarity_is_clear_is_read_once(mnist_test):
    """Only a photo in doubt, or with a mark that may be its digit instead, costs a second reading and
    the model's judgement."""
    for n, variant in enumerate(("paper", "shadow", "whiteboard")):
        photo = photograph(mnist_test.images[n], int(mnist_test.labels[n]), variant, np.random.default_rng([82, n]))
        to_mnist_input(photo.open(), photo=True, likeliest=lambda readings, first, screenshot: pytest.fail("read twice"))


def stored_upright(photo) -> Image.Image:
    """The same photo with its pixels turned upright and no orientation tag."""
    upright = ImageOps.exif_transpose(photo.open())
    assert ORIENTATION not in upright.getexif()
    return upright


@pytest.mark.parametrize("seed", range(3))
def test_sideways_photos_come_out_upright(mnist_test, seed):
    photo = photograph(mnist_test.images[seed], int(mnist_test.labels[seed]), "sideways",
                       np.random.default_rng(seed))
    stored = photo.open()
    assert stored.getexif()[ORIENTATION] in (3, 6, 8)
    assert np.array_equal(photo_ink(stored), photo_ink(stored_upright(photo)))
    # Upright, the input looks like the digit; turned a quarter or half, it would not.
    x = to_mnist_input(stored, photo=True)
    digit = mnist_test.images[seed].astype(np.float32) / 255
    likeness = [np.corrcoef(x.ravel(), np.rot90(digit, k).ravel())[0, 1] for k in range(4)]
    assert int(np.argmax(likeness)) == 0, likeness


def test_blackboard_chalk_is_read_as_ink(mnist_test, predictor):
    photos = [photograph(image, int(label), "blackboard", np.random.default_rng([21, n]))
              for n, (image, label) in enumerate(zip(mnist_test.images[100:110], mnist_test.labels[100:110]))]
    assert all(np.median(np.asarray(photo.open().convert("L"))) < 100 for photo in photos)
    assert (read([photo.open() for photo in photos], predictor) == mnist_test.labels[100:110]).mean() >= 0.9


def beside_a_bright_wall(photo, rng: np.random.Generator) -> Image.Image:
    """The photo with a bright wall or window along one side, 6 to 15 % of the frame."""
    pixels = np.asarray(photo.open().convert("RGB")).copy()
    side = rng.integers(4)
    pixels = np.rot90(pixels, side)
    pixels[:, :int(rng.uniform(0.06, 0.15) * pixels.shape[1])] = rng.uniform(180, 250)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.rot90(pixels, -side))).save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_blackboard_beside_a_bright_wall_is_still_a_blackboard(mnist_test, predictor):
    """The brightest part of the frame is the wall, not the board: where most of the frame is
    board-dark, the chalk's marks decide. Judged by the lit part alone, most were misread."""
    labels = mnist_test.labels[200:220]
    rng = np.random.default_rng(31)
    right = [predictor.predict(to_mnist_input(beside_a_bright_wall(
                 photograph(image, int(label), "blackboard", np.random.default_rng([31, n])), rng), photo=True),
                                      photo=True).digit
             == label for n, (image, label) in enumerate(zip(mnist_test.images[200:220], labels))]
    assert np.mean(right) >= 0.8, f"read {np.mean(right):.0%}"


def on_a_board_on_a_wall(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A 1600x1200 phone photo of a green or black board in a wooden frame, a third to three fifths of the frame
    wide, hanging on a pale wall lit unevenly, the MNIST digit's strokes written on it in grainy chalk."""
    width, height = 1600, 1200
    pixels = np.empty((height, width, 3), np.float32)
    pixels[:] = rng.uniform(190, 235) * np.array([1, 0.97, 0.92])
    board_width = int(rng.uniform(0.35, 0.6) * width)
    board_height = int(board_width * rng.uniform(0.6, 0.8))
    left, top = int(rng.uniform(0.1, 0.9) * (width - board_width)), int(rng.uniform(0.1, 0.9) * (height - board_height))
    rim = board_width // 40
    pixels[top - rim:top + board_height + rim, left - rim:left + board_width + rim] = (120, 80, 50)
    smudges = Image.fromarray(rng.normal(0, 1, (board_height // 40 + 1, board_width // 40 + 1)).astype(np.float32), "F")
    smudges = np.asarray(smudges.resize((board_width, board_height), Image.Resampling.BICUBIC))[..., None]
    pixels[top:top + board_height, left:left + board_width] = rng.choice([[40, 70, 55], [35, 40, 45]]) * (1 + 0.08 * smudges)
    side = int(min(board_width, board_height) * rng.uniform(0.4, 0.7))
    strokes = [stroke.tolist() for stroke in place(digit_strokes(digit), rng)]
    chalk = 1 - np.asarray(render_strokes(strokes, side=side, pen_width=rng.uniform(6, 12) / side), np.float32) / 255
    chalk = 0.85 * chalk * (rng.uniform(0, 1, chalk.shape) > 0.25)
    row, col = top + (board_height - side) // 2, left + (board_width - side) // 2
    pixels[row:row + side, col:col + side] = pixels[row:row + side, col:col + side] * (1 - chalk[..., None]) + 230 * chalk[..., None]
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    pixels *= (1 - rng.uniform(0.15, 0.35) * ((np.cos(angle) * cols + np.sin(angle) * rows) / width + 0.5))[..., None]
    image = Image.fromarray(np.clip(pixels + rng.normal(0, 3, pixels.shape), 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5))).save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_digit_on_a_blackboard_on_a_wall_is_read_from_the_board(mnist_test, predictor):
    """Lit brighter than the board, the wall made the photo paper, and the chalk no ink: none of these 30 was read
    right. The board is read close up, as a sheet on a desk is with its polarity turned (`sheet.board_in`): 30;
    the first 15 are read here."""
    rng = np.random.default_rng(11)
    photos = [on_a_board_on_a_wall(digit, rng) for digit in mnist_test.images[1000:1015]]
    right = read(photos, predictor) == mnist_test.labels[1000:1015]
    assert right.mean() >= 0.9, f"read {right.mean():.1%} of the photos right"


@pytest.mark.parametrize("scene, board", [("a board on a wall", True), ("a page's shadowed part", False),
                                          ("a black card, nothing on it", False), ("a digit crossed out", False),
                                          ("a thick pen's 8", False)])
def test_a_board_is_a_board_dark_rectangle_on_a_lighter_wall_with_some_chalk(scene, board):
    """Each scene but the board is turned away by one of `sheet.board_in`'s conditions alone."""
    rows, cols = np.mgrid[:300, :400].astype(np.float32)
    large = ndimage.rotate(((abs(rows - 150) < 70) & (abs(cols - 200) < 100)).astype(np.float32), 10,
                           order=1, reshape=False) > 0.5
    small = (abs(rows - 150) < 18) & (abs(cols - 200) < 14)
    ring = abs(np.hypot((rows - 150) / 40, (cols - 200) / 25) - 1) < 0.06
    holes = (np.hypot(rows - 142, cols - 200) < 2) | (np.hypot(rows - 158, cols - 200) < 2)
    rectangle, tone, marks = {
        "a board on a wall": (large, 0.2, ring),
        "a page's shadowed part": (large, 0.45, ring),
        "a black card, nothing on it": (large, 0.15, np.zeros_like(ring)),
        "a digit crossed out": (large, 0.2, ring | ((rows + cols) % 6 < 1)),
        "a thick pen's 8": (small, 0.2, holes),
    }[scene]
    # The board's own grain is no chalk.
    grain = np.random.default_rng(0).uniform(-0.03, 0.03, rows.shape)
    grey = np.where(rectangle, np.where(marks, 0.7, tone + grain), 0.8).astype(np.float32)
    found = photo.sheet.board_in(grey)
    if board:
        assert found is not None and np.count_nonzero(found ^ rectangle) <= 0.05 * np.count_nonzero(rectangle)
    else:
        assert found is None


def cut_through_the_top_with_a_speck(photo, rng: np.random.Generator) -> Image.Image:
    """The photo cropped close around its digit, the frame's top edge cutting into the digit,
    with a small dark speck on the paper clear of the border."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    size = bottom - top
    box = (max(0, int(left - size)), int(top + 0.08 * size),
           min(image.width, int(right + size)), min(image.height, int(bottom + size)))
    cropped = image.crop(box)
    speck_x, speck_y = int(rng.uniform(0.1, 0.4) * size), int(cropped.height - 0.3 * size)
    ImageDraw.Draw(cropped).ellipse((speck_x, speck_y, speck_x + 0.03 * size, speck_y + 0.03 * size), fill=(40, 40, 40))
    buffer = io.BytesIO()
    cropped.save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_close_up_digit_touching_the_border_beats_a_speck_clear_of_it(mnist_test, predictor):
    """A mark touching the border is usually not the digit (the paper's edge, a shadow), but a
    close-up digit can touch it: it is the digit when it outweighs every mark clear of the border
    many times. Before that rule the speck was read on all of 20 such; the first 10 are read here, all
    right."""
    photos, labels = paper_photos(mnist_test, 300, 10, 41, cut_through_the_top_with_a_speck)
    ink_tops = [np.nonzero(photo_ink(photo))[0].min() for photo in photos]
    assert ink_tops.count(0) >= 8, ink_tops
    right = [predictor.predict(to_mnist_input(photo, photo=True), photo=True).digit == label
             for photo, label in zip(photos, labels)]
    assert np.mean(right) >= 0.9, f"read {np.mean(right):.0%}"


def closer(photo, fraction: float) -> Image.Image:
    """The photo cropped around its digit, so that the digit is `fraction` of the frame's height."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    centre_x, centre_y = (points.min(axis=0) + points.max(axis=0)) / 2
    half = np.ptp(points[:, 1]) / fraction / 2
    box = (max(0, int(centre_x - 4 / 3 * half)), max(0, int(centre_y - half)),
           min(image.width, int(centre_x + 4 / 3 * half)), min(image.height, int(centre_y + half)))
    buffer = io.BytesIO()
    image.crop(box).save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_digit_across_ruled_lines_close_up_is_not_taken_for_a_line(mnist_test, predictor):
    """Close up, the digit's strokes join the ruled lines they cross into one long mark, which the
    lines' test would drop whole: the lines' darkness is judged on the mark's thin parts only.
    Before that, 5 of 20 such photos were read right, most of the rest from a speck; the first 10 are read here."""
    labels = mnist_test.labels[400:410]
    photos = [closer(photograph(image, int(label), "ruled", np.random.default_rng([61, n])), 0.5)
              for n, (image, label) in enumerate(zip(mnist_test.images[400:410], labels))]
    assert np.mean(read(photos, predictor) == labels) >= 0.8


NOTEBOOK_PHOTOS = Path(__file__).parent / "notebook_photos"


@pytest.mark.parametrize("path", sorted(NOTEBOOK_PHOTOS.glob("*.jpg")), ids=lambda path: path.stem)
def test_a_ballpoint_digit_on_a_notebook_s_ruled_lines_is_read(path, predictor):
    """Photos from an independent generator (an audit's, not this project's): a thin ballpoint's digit
    on lines as dark and nearly as wide as its strokes, touching one. The lines' ink was judged on the
    thin parts of every line, the digit's strokes among them, so no threshold parted the digit from
    the line it touched, or the second pass joined them again: each was answered "not a digit" (the
    file's name ends with the digit). Sent as the API gets them, through its decoder."""
    image = imaging.decode(path.read_bytes()).image
    assert read([image], predictor)[0] == int(path.stem.rsplit("-", 1)[1])


SHEET_PHOTOS = Path(__file__).parent / "sheet_photos"


@pytest.mark.parametrize("path", sorted(SHEET_PHOTOS.glob("*.jpg")), ids=lambda path: path.stem)
def test_a_digit_on_a_sheet_lying_on_a_desk_is_read_without_the_sheet_s_edge(path, predictor):
    """Photos from an independent generator (an audit's): a sheet on a darker desk, its edge in the frame and
    clear of the frame's border, a thin line of ink in the flattened photo that outweighed a small digit, or
    one near it, and was read as a 1 or as no digit. The file's name ends with the digit."""
    image = imaging.decode(path.read_bytes()).image
    assert read([image], predictor)[0] == int(path.stem.rsplit("-", 1)[1])


PEN_PHOTOS = Path(__file__).parent / "pen_photos"


@pytest.mark.parametrize("path", sorted(PEN_PHOTOS.glob("*.jpg")), ids=lambda path: path.stem)
def test_a_pen_or_pencil_lying_near_the_digit_is_read_apart_with_its_pieces(path, predictor):
    """Photos from an independent generator (a seventh audit's, shrunk to 800 pixels): a pen or a pencil lying a
    stroke or two from the digit, its cap, grip, cone or eraser each a mark of its own. The pen was read with the
    digit, as one mark, and answered "not a digit" (or, read apart, its cap or cone was then the mark chosen). The
    file's name ends with the digit."""
    image = imaging.decode(path.read_bytes()).image
    assert read([image], predictor)[0] == int(path.stem.rsplit("-", 1)[1])


def test_a_long_mark_is_a_sheet_s_edge_only_with_the_desk_beside_it():
    """The step of tone beside it tells a sheet's edge from a 1: a pen's stroke has paper on both sides, and one
    running into a shadow lies along the shadow's edge only where it crosses it."""
    surface = np.full((120, 160), 0.9, dtype=np.float32)
    surface[:, :40] = 0.35   # the desk, left of the sheet
    marks = np.zeros(surface.shape, dtype=np.int32)
    marks[10:110, 40:42] = 1   # along the sheet's edge
    marks[30:90, 100:103] = 2   # a 1 on the sheet
    surface[:60, 130:] = 0.45   # a shadow over the top of another 1, which runs on into the light
    marks[20:100, 140:143] = 3
    edges = photo.marks.edges_of_sheets(surface, marks, marks > 0)
    assert edges.tolist() == [False, True, False, False]


def test_a_sliver_along_the_frame_s_border_is_no_mark_but_a_digit_cut_by_it_is():
    """Beyond a sheet's edge cut by the frame, the desk shows as a thin wedge along the border: where nothing
    was clear of the border, it was the mark chosen, a 1. A digit cut by the frame meets it with its strokes."""
    marks = np.zeros((120, 160), dtype=np.int32)
    for row in range(20, 100):
        marks[row, :1 + (row - 20) // 20] = 1   # a wedge along the left side
    marks[0:3, 60:90] = 2   # a 7 cut through its bar at the top
    marks[0:60, 86:89] = 2
    marks[60:110, 40:43] = 3   # a 1 clear of the border
    marks[118:120, 100:104] = 4   # a speck cut by the bottom
    along = photo.marks.along_the_border(marks, 4)
    assert along.tolist() == [False, True, False, False, True]


def test_an_empty_sheet_cut_by_the_frame_is_no_digit(predictor):
    """A blank sheet on a table, the frame cutting its edge: the desk beyond was the only mark, and a 1 (4 of
    20 such photos, the first 10 of which are read here; of 60 such photos 14 were read as digits before slivers
    along the border were no marks, 7 since)."""
    blank = np.zeros((28, 28), dtype=np.uint8)
    photos = [photograph(blank, 0, "edge", np.random.default_rng([90, n])).open() for n in range(40, 50)]
    assert np.isin(read(photos, predictor), [-1, None]).all()


@pytest.mark.parametrize("tilt", [-35, -12, 20, 35])
def test_a_ruled_page_s_turn_is_read_from_its_lines(mnist_train, tilt):
    """The ruled lines, a pixel wide and fainter than the ink's threshold at the working resolution,
    say how far the page is turned, whichever the digit."""
    n = abs(tilt)
    page = photograph(mnist_train.images[n], int(mnist_train.labels[n]), "ruled", np.random.default_rng([96, n]),
                      tilt=tilt)
    grey, finger = photo.working_photo(page.open())
    _, _, turn = photo.ink_over(grey, finger, photo.background_window(grey), light_ink=False)
    assert abs(turn - tilt) <= 2


def test_a_plain_page_shows_no_turn(mnist_train):
    """Without lines, nothing says how far the page is turned: its digit is read as it lies."""
    page = photograph(mnist_train.images[0], int(mnist_train.labels[0]), "paper", np.random.default_rng(96), tilt=35)
    grey, finger = photo.working_photo(page.open())
    assert photo.ink_over(grey, finger, photo.background_window(grey), light_ink=False)[2] == 0


@pytest.mark.parametrize("seed", range(12))
def test_a_patch_of_grain_shows_no_turn(seed):
    """Faint uneven ink over a patch of the frame (a desk's grain, a shadow's noise) has no line in
    it, so it turns no digit. Weighing only every so many of its pixels, as before, found lines in
    the rows of the points picked, and a turn in 9 of these 12."""
    rng = np.random.default_rng([98, seed])
    ink = np.zeros((288, 384))
    top, left = rng.integers(0, 150), rng.integers(0, 200)
    patch = ink[top:top + rng.integers(60, 130), left:left + rng.integers(80, 180)]
    patch[:] = rng.uniform(0, 5 * photo.marks.TURN_INK, patch.shape)
    digit = np.zeros(ink.shape, bool)
    digit[120:160, 330:360] = True
    assert photo.marks.page_turn(ink, digit) == 0


def test_a_digit_on_a_turned_ruled_page_is_read_turned_back(mnist_test, predictor):
    """People write level with a page's lines, so on a page turned 35 degrees the digit is turned as
    much, past what the model reads: the lines' slope turns it back upright. Before, 34 of 40 such
    pages were read right (three "not a digit"), since 38; of the first 20, read here, 17."""
    labels = mnist_test.labels[440:460]
    pages = [photograph(image, int(label), "ruled", np.random.default_rng([97, n]), tilt=35 if n % 2 else -35)
             for n, (image, label) in enumerate(zip(mnist_test.images[440:460], labels))]
    assert (read([page.open() for page in pages], predictor) == labels).sum() >= 16


def on_a_screen(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A phone photo of a digit drawn dark on a light tablet's or laptop's screen: a dark bezel, a
    tenth of the device wide or less, frames the screen, and a grey desk or wall lies beyond."""
    height, width = 1200, 1600
    pixels = np.full((height, width), rng.uniform(90, 170))
    device_height, device_width = int(height * rng.uniform(0.55, 0.85)), int(width * rng.uniform(0.5, 0.8))
    top, left = rng.integers(0, height - device_height), rng.integers(0, width - device_width)
    pixels[top:top + device_height, left:left + device_width] = rng.uniform(10, 35)
    bezel = int(min(device_height, device_width) * rng.uniform(0.04, 0.12))
    screen = pixels[top + bezel:top + device_height - bezel, left + bezel:left + device_width - bezel]
    screen[:] = rng.uniform(200, 250) - rng.uniform(0, 40) * np.linspace(0, 1, screen.shape[1])
    side = int(min(screen.shape) * rng.uniform(0.3, 0.7))
    ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.BICUBIC), dtype=float) / 255
    row, col = rng.integers(0, screen.shape[0] - side), rng.integers(0, screen.shape[1] - side)
    written = screen[row:row + side, col:col + side]
    written[:] = written * (1 - ink) + 20 * ink
    pixels += rng.normal(0, 4, pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert("RGB")
    buffer = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(1.2)).save(buffer, "JPEG", quality=85)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_a_digit_on_a_screen_is_read_inside_its_bezel(mnist_test, predictor):
    """The bezel, thinner than the background's window, is dark "ink" round the digit, far heavier
    and too large for a ring drawn round it: it was read instead, "not a digit" (none of 20 such photos
    read right, 18 since). A frame whose band is narrower than the digit, and clear of it, marks the
    digit. The first 10 are read here."""
    labels = mnist_test.labels[500:510]
    photos = [on_a_screen(image, np.random.default_rng([99, n])) for n, image in enumerate(mnist_test.images[500:510])]
    assert (read(photos, predictor) == labels).sum() >= 9


def test_a_felt_pen_close_up_is_read_with_a_wider_window_too(mnist_test, predictor):
    """Close up, a felt pen's strokes are nearly as wide as the background's window, which takes
    their widest parts for paper. Where a first pass with a wide window finds such a pen, the photo
    is read with it too and the model weighs both readings: all 20 of these read right, 9 by the
    usual window alone."""
    labels = mnist_test.labels[600:620]
    rng = np.random.default_rng(91)
    photos = [cropped_to_the_digit(image, rng) for image in mnist_test.images[600:620]]
    assert np.mean(read(photos, predictor) == labels) >= 0.85


@pytest.mark.parametrize("surface", ["chalk", "screenshot"])
def test_light_strokes_as_wide_as_the_window_are_read_as_light_ink(mnist_test, predictor, surface):
    """Light strokes nearly as wide as the background's window (chalk close up, a white digit on
    black) survive the opening that judges the surface, so the frame looked lit, and their narrow
    gaps stood out as dark marks: the digit was read as dark ink, and 20 and 27 of 30 such right.
    Where the lit part lies on a frame mostly as dark as a board, both polarities are read now,
    each with the wide window where its pen fills the usual one: 29 and 29; of the first 15, read here, 15 and 14."""
    labels = mnist_test.labels[620:635]
    rng = np.random.default_rng(92)
    photos = [cropped_to_the_digit(image, rng, chalk=True) if surface == "chalk"
              else Image.fromarray(image).resize((200, 200), Image.Resampling.BICUBIC).convert("RGB")
              for image in mnist_test.images[620:635]]
    assert np.mean(read(photos, predictor) == labels) >= 0.9


@pytest.mark.parametrize("side", [16, 20])
def test_an_upload_too_small_for_a_camera_is_read_as_a_drawing(mnist_test, predictor, side):
    """The photo's background windows need more pixels than a 16-pixel image has: read as photos,
    83 and 93 of these 100 were right, as drawings 98 and 98."""
    labels = mnist_test.labels[650:750]
    uploads = [ImageOps.invert(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC)).convert("RGB")
               for image in mnist_test.images[650:750]]
    assert np.mean(read(uploads, predictor) == labels) >= 0.96


@pytest.mark.parametrize("height", [0.3, 0.6])
@pytest.mark.parametrize("pen", [6, 12])
def test_a_1_photographed_close_up_is_no_ruled_line(height, pen, predictor):
    """A 1 in a ballpoint's thin stroke is as long and thin as a ruled line; unlike one, it stays
    clear of the frame's border. Such 1s a third of the frame high or more were refused."""
    image = Image.new("RGB", (1600, 1200), (235, 232, 225))
    length = height * image.height
    ImageDraw.Draw(image).line([(800 + 0.1 * length, 600 - length / 2), (800 - 0.1 * length, 600 + length / 2)],
                               fill=(40, 40, 60), width=pen)
    noisy = np.asarray(image, dtype=np.float32) + np.random.default_rng(pen).normal(0, 4, (1200, 1600, 1))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=85)
    assert predictor.predict(to_mnist_input(Image.open(buffer), photo=True), photo=True).digit == 1


@pytest.mark.parametrize(("image", "said"), [
    (Image.new("RGB", (1600, 1200), (240, 235, 220)), "the photo is blank"),
    # Too small for a camera: read as a drawing.
    (Image.new("L", (8, 8), 128), "the drawing is blank"),
    (Image.new("RGB", (640, 480), "black"), "the photo is blank"),
    # An audit's blank ruled page, creased and turned, as the API decodes it: its one speck, turned
    # upright with the page, was refused as "the drawing is blank"; its close-up holds no mark, and the
    # speck is too faint to be ink.
    (Image.open(Path(__file__).parent / "blank_photos" / "creased-ruled-page.jpg"), "the photo shows no mark"),
], ids=["paper", "tiny", "black", "creased page"])
def test_blank_photos_are_refused(image, said):
    with pytest.raises(BlankDrawingError, match=f"^{said}"):
        to_mnist_input(image, photo=True)


def paper_made_transparent(digit: np.ndarray) -> Image.Image:
    """A test digit enlarged tenfold with Lanczos, its pure white paper then made transparent ("set transparent
    colour"): the resampling leaves opaque pixels of 251 to 254 round the strokes."""
    rgba = np.array(Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.LANCZOS).convert("RGBA"))
    rgba[..., 3] = np.where(rgba[..., 0] == 255, 0, 255)
    return Image.fromarray(rgba)


def test_paper_made_transparent_by_its_colour_is_read_as_paper(mnist_test, predictor):
    """Opacity alone took the nearly white pixels round the strokes for ink: uploaded as a photo, 15 of 40 such
    digits were read right (as a drawing, 40)."""
    images = [paper_made_transparent(digit) for digit in mnist_test.images[20:40]]
    assert (read(images, predictor) == mnist_test.labels[20:40]).mean() >= 0.95


@pytest.mark.parametrize(("stroke", "sheet"), [((0, 0, 0), (0, 0, 0)), ((255, 255, 255), (0, 0, 0)),
                                               ((250, 220, 40), (255, 255, 255))],
                         ids=["black on clear black", "white on clear black", "yellow on clear white"])
def test_a_canvas_s_strokes_on_its_transparent_sheet_are_ink_whatever_their_colour(mnist_test, predictor, stroke,
                                                                                    sheet):
    """The transparent pixels' colour says which opaque ones are paper only where the strokes lie far from it."""
    images = []
    for digit in mnist_test.images[20:30]:
        opacity = np.array(Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR))
        rgba = np.zeros((280, 280, 4), np.uint8)
        rgba[..., :3] = sheet
        rgba[opacity > 0, :3] = stroke
        rgba[..., 3] = opacity
        images.append(Image.fromarray(rgba))
    assert (read(images, predictor) == mnist_test.labels[20:30]).all()


@pytest.mark.parametrize("strength, kept", [(0.1, False), (0.5, True)])
def test_a_small_mark_its_close_up_shows_nothing_of_is_read_only_if_dark(strength, kept):
    """A mark small in the frame is judged from its close-up; where the close-up holds no mark (an empty
    note's edge, seen whole and reaching the close-up's border), the mark as the working photo found it is
    read only if it is dark enough to be ink: an audit's faint speck on an empty note's edge was a 1 at 0.999."""
    paper = Image.new("L", (1600, 1200), 200)
    ink = np.zeros((288, 384), np.float32)
    ink[140:150, 190:193] = strength
    if kept:
        np.testing.assert_array_equal(photo.closer_if_small(paper, ink, light_ink=False), ink)
    else:
        with pytest.raises(photo.PaperTexture):
            photo.closer_if_small(paper, ink, light_ink=False)


@pytest.mark.django_db
def test_api_reads_an_uploaded_photo(client, mnist_test):
    photo = photograph(mnist_test.images[0], 7, "sideways", np.random.default_rng(5))
    upload = io.BytesIO(photo.jpeg)
    upload.name = "IMG_0001.jpg"
    response = client.post(URL, {"image": upload, "source": "upload"})
    assert response.status_code == 201, response.content
    assert response.json()["digit"] == 7 and response.json()["source"] == "upload"


@pytest.mark.django_db
def test_a_photo_is_answered_not_a_digit_more_readily_than_a_drawing(client, predictor):
    """The checkpoint's threshold is calibrated on drawings: photos of no digit (a pen, an envelope's edge, a
    receipt's print) were answered digits at 0.5 to 0.9 of "not a digit". A photo's reading is answered so
    from PHOTO_NOT_A_DIGIT: this photographed non-digit's, a digit to a drawing's threshold."""
    photo = photograph(not_digits(320, seed=11)[75], 0, VARIANTS[75 % len(VARIANTS)], np.random.default_rng([11, 75]))
    reading = to_mnist_input(imaging.decode(photo.jpeg).image, photo=True, likeliest=predictor.likeliest_digit)
    as_drawing, as_photo = predictor.predict(reading), predictor.predict(reading, photo=True)
    assert as_drawing.digit is not None and as_photo.digit is None
    assert PHOTO_NOT_A_DIGIT <= as_photo.not_a_digit == as_photo.confidence < predictor.threshold
    upload = io.BytesIO(photo.jpeg)
    upload.name = "IMG_0002.jpg"
    response = client.post(URL, {"image": upload, "source": "upload"})
    assert response.status_code == 201 and response.json()["digit"] is None


@pytest.mark.django_db
def test_api_reads_a_photo_sent_without_saying_it_is_one(client, mnist_test):
    """A phone photo posted as a plain image, its `source` left out: its marked paper says it is a
    photo. Read as drawings, such photos were nearly all wrong (one in eight of these)."""
    photos = synthetic_photos(mnist_test.images[40:48], mnist_test.labels[40:48], seed=12)
    right = 0
    for number, photo in enumerate(photos):
        upload = io.BytesIO(photo.jpeg)
        upload.name = f"IMG_{number:04}.jpg"
        response = client.post(URL, {"image": upload})
        assert response.status_code == 201, response.content
        assert response.json()["source"] == "api"
        right += response.json()["digit"] == photo.label
    assert right >= 7


@pytest.mark.django_db
def test_api_reads_a_photo_a_camera_says_it_took_as_a_photo(client, mnist_test, monkeypatch):
    """A sheet framed by the table, posted without `source`: its paper is clear of marks, and here
    its grain is not looked at, so only the camera's name in its EXIF block says it is a photo. Read
    as a drawing, the sheet is one blob."""
    from mlcore import preprocess

    monkeypatch.setattr(preprocess, "grainy", lambda ink: False)
    photo = photograph(mnist_test.images[13], int(mnist_test.labels[13]), "edge", np.random.default_rng([11, 13]))
    answers = {}
    for camera in ("", "Pixel 8"):
        exif = Image.Exif()
        if camera:
            exif[0x0110] = camera  # Model
        upload = io.BytesIO()
        photo.open().save(upload, "JPEG", quality=95, exif=exif)
        upload.seek(0)
        upload.name = "IMG_0003.jpg"
        response = client.post(URL, {"image": upload})
        assert response.status_code == 201, response.content
        answers[camera] = response.json()
    assert answers["Pixel 8"]["digit"] == photo.label == 0 and answers["Pixel 8"]["source"] == "api"
    assert answers[""]["digit"] != photo.label


@pytest.mark.django_db
def test_api_reads_a_photo_taken_in_dim_light(client, mnist_test):
    """The site lets its active model weigh the two readings of a photo in doubt."""
    photos, labels = dim_paper(mnist_test, 1)
    upload = io.BytesIO()
    photos[0].save(upload, "JPEG", quality=95)
    upload.seek(0)
    upload.name = "IMG_0002.jpg"
    response = client.post(URL, {"image": upload, "source": "upload"})
    assert response.status_code == 201, response.content
    assert response.json()["digit"] == labels[0]


def test_a_texture_of_tiny_dots_weighs_only_the_largest_marks(monkeypatch):
    """A 768-pixel lattice of one-pixel dots is 18,000 marks; weighing each cost over a second of CPU."""
    lattice = np.full((768, 768), 255, np.uint8)
    lattice[::4, ::4] = 0
    lattice[1::4, 1::4] = 0
    lattice[300:420, 380:392] = 0   # and a bar, the largest mark
    weighed = []
    labelled = photo.marks.labelled

    def counting(ink, threshold):
        marks, count, lines = labelled(ink, threshold)
        weighed.append(count)
        return marks, count, lines

    monkeypatch.setattr(photo.marks, "labelled", counting)
    ink = photo_ink(Image.fromarray(lattice))
    assert weighed and max(weighed) == photo.marks.MAX_MARKS
    rows, cols = np.nonzero(ink)
    assert 0.3 < rows.mean() / ink.shape[0] < 0.65 and 0.45 < cols.mean() / ink.shape[1] < 0.55


def test_a_screenshot_s_regions_are_sought_at_the_cost_of_labelling_them():
    """A camera's photo of a flat sheet, judged as a screenshot might be, is thousands of regions of grain:
    each of the eight largest looked up cost a box for every region labelled before it, 0.4 s a photo (an
    audit's plain photos of a digit on cream paper); now about three times the labelling's own cost."""
    grain = np.random.default_rng(0).random((480, 640)) < 0.15
    grain[95:305, 145:455] = False
    grain[100:300, 150:450] = True   # and a photo shown, its sides straight

    def cpu(call):
        costs = []
        for _ in range(3):
            started = time.process_time()
            result = call()
            costs.append(time.process_time() - started)
        return min(costs), result

    floor, _ = cpu(lambda: ndimage.label(grain))
    cost, found = cpu(lambda: screen.straight_sided(grain))
    assert found == [(100, 150, 300, 450)]
    assert cost < 12 * floor, f"{1000 * cost:.1f} ms, labelling {1000 * floor:.1f} ms"
