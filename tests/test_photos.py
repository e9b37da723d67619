"""Phone photos of written digits: lighting, shadows, ruled paper, boards, sideways storage."""

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps
from scipy import ndimage

from mlcore import photo
from mlcore.datasets.drawn import digit_strokes, draw, place
from mlcore.datasets.hand import deform
from mlcore.datasets.negatives import GLYPHS, NOT_DIGIT_HEIGHTS, not_digits
from mlcore.datasets.photos_synth import SIZES, VARIANTS, photograph, synthetic_photos
from mlcore.exif import ORIENTATION
from mlcore.photo import photo_ink, screen
from mlcore.predict import PHOTO_NOT_A_DIGIT, Predictor
from mlcore.preprocess import BlankDrawingError, to_mnist_input
from mlcore.render import render_strokes
from recognizer import imaging

URL = "/api/predictions/"

# Digits 12 to 20 % of the frame's height, their pen thin at the working resolution: lighter than a
# punched hole, and thinner than the lines they join are judged on.
SMALL_THIN = (0.12, 0.2)


@pytest.fixture(scope="module")
def predictor(shipped_model_path):
    return Predictor.from_checkpoint(shipped_model_path)


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


def test_synthetic_photos_of_test_digits_are_read(mnist_test, predictor):
    """160 photos, 20 of each variant, of MNIST test digits: the digit small in a 1600x1200 frame."""
    indices = np.random.default_rng(11).choice(len(mnist_test.labels), size=160, replace=False)
    photos = synthetic_photos(mnist_test.images[indices], mnist_test.labels[indices], seed=11)
    right = read([photo.open() for photo in photos], predictor) == mnist_test.labels[indices]
    # benchmarks/photos.py measures it on more photos (README, "Photos").
    assert right.mean() >= 0.97, f"read {right.mean():.1%} of the photos right"
    for n, variant in enumerate(VARIANTS):
        assert right[n::len(VARIANTS)].mean() >= 0.9, f"{variant}: {right[n::len(VARIANTS)].mean():.0%}"


def test_a_digit_small_in_the_frame_is_read_from_a_close_up(mnist_test, predictor):
    """A digit 4 to 6 % of the frame's height is a dozen pixels at the working resolution. Read again
    from a close-up of the original pixels around it, 78 of these 80 are read right; 74 without."""
    labels = mnist_test.labels[400:480]
    photos = synthetic_photos(mnist_test.images[400:480], labels, seed=71, sizes=(0.05, 0.08))
    right = read([photo.open() for photo in photos], predictor) == labels
    assert right.mean() >= 0.95, f"read {right.mean():.1%} of the photos right"


def test_today_s_drawing_preprocessing_fails_on_the_same_photos(mnist_test, predictor):
    """The photo path is what makes the difference: read as drawings, most photos are wrong."""
    photos = synthetic_photos(mnist_test.images[:40], mnist_test.labels[:40], seed=12)
    as_drawings = np.stack([to_mnist_input(photo.open()) for photo in photos])
    assert (predictor.probabilities(as_drawings).argmax(axis=1) == mnist_test.labels[:40]).mean() < 0.5


def ink_points(image: Image.Image) -> np.ndarray:
    """(x, y) of each pixel of the digit's ink that photo_ink finds, in the image's own pixels."""
    ink = photo_ink(image)
    ys, xs = np.nonzero(ink)
    return np.stack([xs, ys], axis=1) * (max(image.size) / max(ink.shape))


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
    the time: of these 30, v1 reads 20, v3_1 15 and v4 16 (of 60: 42, 31 and 35), the hardest
    photos there are (`docs/photos.md`)."""
    right = 0
    for n, (photo, shadowed, clean) in enumerate(shadowed_paper(mnist_train, 30, "tip")):
        if n < 12:
            ink = photo_ink(shadowed) > 0
            assert ink[clean].mean() >= 0.8
            beyond = ink & ~ndimage.binary_dilation(clean, iterations=3)
            assert beyond.sum() <= 0.75 * clean.sum()
        right += predictor.predict(to_mnist_input(shadowed, photo=True), photo=True).digit == photo.label
    assert right >= 15


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
    step of tone (`marks.ON_STEP`): 25 of these 40 were read right before, 33 since."""
    rng = np.random.default_rng(5)
    photos = [under_a_band_of_shadow(digit, rng) for digit in mnist_test.images[900:940]]
    right = read(photos, predictor) == mnist_test.labels[900:940]
    assert right.mean() >= 0.75, f"read {right.mean():.1%} of the photos right"


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
    them, or none: 1 of these 30 was read right before, 21 since (`surface.striped`)."""
    rng = np.random.default_rng(23)
    photos = [under_window_blinds(digit, rng) for digit in mnist_test.images[1500:1530]]
    right = read(photos, predictor) == mnist_test.labels[1500:1530]
    assert right.sum() >= 18, f"read {right.sum()} of the 30 photos right"


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
    inverted and its noise read as chalk, and none of these 20 was read right (all 20 now). Where
    the surface says board and the marks say dark ink, the photo is read both ways and the reading
    the model finds likelier one digit is kept."""
    photos, labels = dim_paper(mnist_test, 20)
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
    ink under it was too faint and strokes were lost (26 of these 40 read right). Divided by the
    paper's share of the background only, 35 were: a stroke the glare lifts above the paper around
    it was still a channel down which the shadow's reconstruction flowed, its background the
    stroke itself. With the closing as the background under the glare, 39 are."""
    labels = mnist_test.labels[600:640]
    photos = []
    for n, (image, label) in enumerate(zip(mnist_test.images[600:640], labels)):
        rng = np.random.default_rng([91, n])
        photos.append(under_a_flash(photograph(image, int(label), "paper", rng), rng))
    assert (read(photos, predictor) == labels).sum() >= 38


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
    darker fragments (35 of these 40 read right; an independent audit's thin pencil with sheen, 9 of 40).
    Grown from the digit's marks through the faint ink joined to them, 38 are (the audit's, 19)."""
    labels = mnist_test.labels[700:740]
    photos = []
    for n, (image, label) in enumerate(zip(mnist_test.images[700:740], labels)):
        rng = np.random.default_rng([93, n])
        photos.append(in_pencil_with_sheen(photograph(image, int(label), "paper", rng), rng))
    assert (read(photos, predictor) == labels).sum() >= 37


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
              for n, (image, label) in enumerate(zip(mnist_test.images[100:120], mnist_test.labels[100:120]))]
    assert all(np.median(np.asarray(photo.open().convert("L"))) < 100 for photo in photos)
    assert (read([photo.open() for photo in photos], predictor) == mnist_test.labels[100:120]).mean() >= 0.9


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
    right. The board is read close up, as a sheet on a desk is with its polarity turned (`sheet.board_in`): 30."""
    rng = np.random.default_rng(11)
    photos = [on_a_board_on_a_wall(digit, rng) for digit in mnist_test.images[1000:1030]]
    right = read(photos, predictor) == mnist_test.labels[1000:1030]
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
    many times. Before that rule the speck was read on all of these."""
    photos, labels = paper_photos(mnist_test, 300, 20, 41, cut_through_the_top_with_a_speck)
    ink_tops = [np.nonzero(photo_ink(photo))[0].min() for photo in photos]
    assert ink_tops.count(0) >= 15, ink_tops
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
    Before that, 5 of these 20 were read right, most of the rest from a speck."""
    labels = mnist_test.labels[400:420]
    photos = [closer(photograph(image, int(label), "ruled", np.random.default_rng([61, n])), 0.5)
              for n, (image, label) in enumerate(zip(mnist_test.images[400:420], labels))]
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
    these 20; of 60 such photos 14 were read as digits before slivers along the border were no marks, 7 since)."""
    blank = np.zeros((28, 28), dtype=np.uint8)
    photos = [photograph(blank, 0, "edge", np.random.default_rng([90, n])).open() for n in range(40, 60)]
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
    much, past what the model reads: the lines' slope turns it back upright. Before, 34 of these 40
    were read right (three "not a digit"), now 38."""
    labels = mnist_test.labels[440:480]
    pages = [photograph(image, int(label), "ruled", np.random.default_rng([97, n]), tilt=35 if n % 2 else -35)
             for n, (image, label) in enumerate(zip(mnist_test.images[440:480], labels))]
    assert (read([page.open() for page in pages], predictor) == labels).sum() >= 37


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
    and too large for a ring drawn round it: it was read instead, "not a digit" (none of these 20
    read right, 18 now). A frame whose band is narrower than the digit, and clear of it, marks the
    digit."""
    labels = mnist_test.labels[500:520]
    photos = [on_a_screen(image, np.random.default_rng([99, n])) for n, image in enumerate(mnist_test.images[500:520])]
    assert (read(photos, predictor) == labels).sum() >= 17


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
    gaps stood out as dark marks: the digit was read as dark ink, and 20 and 27 of these 30 right.
    Where the lit part lies on a frame mostly as dark as a board, both polarities are read now,
    each with the wide window where its pen fills the usual one: 29 and 29."""
    labels = mnist_test.labels[620:650]
    rng = np.random.default_rng(92)
    photos = [cropped_to_the_digit(image, rng, chalk=True) if surface == "chalk"
              else Image.fromarray(image).resize((200, 200), Image.Resampling.BICUBIC).convert("RGB")
              for image in mnist_test.images[620:650]]
    assert np.mean(read(photos, predictor) == labels) >= 0.95


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


def on_a_sticky_note(photo, rng: np.random.Generator) -> Image.Image:
    """The photo's paper around its digit cut out as a square note, slightly turned, on a desk
    with the note's soft shadow beside it."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    side = int(min(2.6 * max(right - left, bottom - top), image.height))
    # The paper around the digit, moved inside the photo where the digit lies near its edge.
    note_left = int(np.clip((left + right - side) / 2, 0, image.width - side))
    note_top = int(np.clip((top + bottom - side) / 2, 0, image.height - side))
    note = image.crop((note_left, note_top, note_left + side, note_top + side))
    note = Image.fromarray((np.asarray(note, dtype=np.float32) * [1.0, 0.93, 0.5]).astype(np.uint8))
    angle = rng.uniform(-12, 12)
    shape = Image.new("L", note.size, 255).rotate(angle, expand=True)
    note = note.rotate(angle, expand=True)
    desk = Image.new("RGB", image.size, tuple(int(v) for v in rng.choice([[120, 80, 50], [60, 60, 65]])))
    corner = ((image.width - note.width) // 2 + int(rng.integers(-80, 80)),
              (image.height - note.height) // 2 + int(rng.integers(-60, 60)))
    shadow = Image.new("L", image.size, 0)
    shadow.paste(shape, (corner[0] + 10, corner[1] + 12))
    shade = 1 - 0.4 * np.asarray(shadow.filter(ImageFilter.GaussianBlur(10)), dtype=np.float32)[..., None] / 255
    desk = Image.fromarray((np.asarray(desk, dtype=np.float32) * shade).astype(np.uint8))
    desk.paste(note, corner, shape)
    buffer = io.BytesIO()
    desk.save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_digit_on_a_sticky_note_is_read_without_the_note_s_edge(mnist_test, predictor):
    """The note's edge and its shadow make a long thin mark around the digit; its box held the
    digit's, so it was kept as part of the digit, which came out small beside an L."""
    photos, labels = paper_photos(mnist_test, 400, 20, 51, on_a_sticky_note)
    assert (read(photos, predictor) == labels).mean() >= 0.9


def on_a_note_on_a_dark_desk(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The MNIST digit's strokes written with a thin pen (5 of 1600 pixels) on a yellow note lying on a dark
    grey desk, the note a quarter to half of the frame's width."""
    width, height = 1200, 1600
    grain = np.asarray(Image.fromarray(rng.normal(0, 5, (height // 8, width // 8)).astype(np.float32), "F")
                       .resize((width, height), Image.Resampling.BICUBIC))
    photo = Image.fromarray((np.clip(rng.uniform(40, 85) + grain, 0, 255)[..., None] * np.ones(3)).astype(np.uint8))
    side = int(rng.uniform(400, 700))
    strokes = [stroke.tolist() for stroke in place(digit_strokes(digit), rng)]
    ink = 1 - np.asarray(render_strokes(strokes, side=side // 2, pen_width=5 / (side // 2)), np.float32) / 255
    note = np.full((side, side, 3), (245, 232, 125), np.float32)
    note[side // 4:side // 4 + side // 2, side // 4:side // 4 + side // 2] *= 1 - 0.85 * ink[..., None]
    angle = rng.uniform(-12, 12)
    shape = Image.new("L", (side, side), 255).rotate(angle, expand=True)
    note = Image.fromarray(note.astype(np.uint8)).rotate(angle, expand=True)
    photo.paste(note, ((width - note.width) // 2 + int(rng.integers(-100, 100)),
                       (height - note.height) // 2 + int(rng.integers(-100, 100))), shape)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_thin_pen_s_digit_on_a_note_on_a_dark_desk_is_read(mnist_test, predictor):
    """Read as light ink (the frame dark, the note a bright patch on it), the note was one solid mark as strong as
    ink gets, as wide as a close-up's pen: that reading outweighed the note's own digit, and was read as a 1 or
    no digit. 11 of these 30 were read right before a rectangle was no writing (`marks.rectangle`), 28 since."""
    rng = np.random.default_rng(3)
    photos = [on_a_note_on_a_dark_desk(digit, rng) for digit in mnist_test.images[700:730]]
    right = read(photos, predictor) == mnist_test.labels[700:730]
    assert right.mean() >= 0.85, f"read {right.mean():.1%} of the photos right"


@pytest.mark.parametrize("shape, is_rectangle", [
    ("note", True), ("note turned", True), ("note with a digit cut out", True), ("disc", False),
    ("thick 0 nearly closed", False), ("thick 1", False), ("small square", False)])
def test_a_rectangle_is_no_writing(shape, is_rectangle):
    rows, cols = np.mgrid[:300, :300]
    mask = {
        "note": (abs(rows - 150) < 100) & (abs(cols - 150) < 90),
        "note turned": ndimage.rotate(((abs(rows - 150) < 100) & (abs(cols - 150) < 90)).astype(float), 25,
                                      order=1, reshape=False) > 0.5,
        "note with a digit cut out": (abs(rows - 150) < 100) & (abs(cols - 150) < 90)
                                     & ~((abs(np.hypot((rows - 150) / 60, (cols - 150) / 40) - 1) < 0.04)),
        "disc": np.hypot(rows - 150, cols - 150) < 100,
        "thick 0 nearly closed": (np.hypot((rows - 150) / 100, (cols - 150) / 75) < 1)
                                 & (np.hypot((rows - 150) / 15, (cols - 150) / 8) > 1),
        "thick 1": (abs(rows - 150) < 110) & (abs(cols - 150) < 30),
        "small square": (abs(rows - 150) < 4) & (abs(cols - 150) < 4),
    }[shape]
    assert photo.marks.rectangle(mask) == is_rectangle


def written_apart(first: np.ndarray, second: np.ndarray, gap: int) -> np.ndarray:
    """Two MNIST digits side by side, `gap` pixels apart, as a number is written, on a square canvas."""
    side = 56 + gap
    number = np.zeros((side, side), np.uint8)
    top = (side - 28) // 2
    number[top:top + 28, :28] = first
    number[top:top + 28, 28 + gap:] = second
    return number


def test_a_number_of_two_digits_written_apart_is_no_digit(mnist_test, predictor):
    """Its second digit further from the first than a digit's own parts lie (`marks.NEARBY`), the first was read
    alone: none of these 24 was answered "not a digit"; read together (`marks.beside_in_its_row`), 15."""
    rng = np.random.default_rng(8)
    photos = [photograph(written_apart(mnist_test.images[900 + 2 * n], mnist_test.images[901 + 2 * n],
                                       int(rng.integers(2, 10))), 0, "paper", np.random.default_rng([8, n]),
                         (0.3, 0.45)).open() for n in range(24)]
    answers = read(photos, predictor)
    assert np.isin(answers, [None, -1]).mean() >= 0.6, answers


def with_a_pen_beside(photo, rng: np.random.Generator) -> Image.Image:
    """The photo with a pen lying on the page beside its digit, its tip by the digit and its body running
    out of the frame: nearly half the digit's height wide (a pen 9 mm wide by a digit 2 cm high), a dark
    grip and cone, a bright metal ring between them and the body."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    size = bottom - top
    axis_x = right + 0.6 * size if image.width - right > left else left - 0.6 * size
    tip_y = min(top + rng.uniform(0, 0.5) * size, image.height - 1.5 * size)
    half = 0.22 * size
    draw = ImageDraw.Draw(image)
    body = tuple(int(v) for v in rng.choice([[25, 35, 120], [20, 20, 20], [150, 20, 20]]))
    grip, ring = tip_y + 0.3 * size, tip_y + 0.6 * size
    draw.rectangle((axis_x - half, ring + 0.1 * size, axis_x + half, image.height), fill=body)
    draw.rectangle((axis_x - half, ring, axis_x + half, ring + 0.1 * size), fill=(225, 225, 228))
    draw.rectangle((axis_x - half, grip, axis_x + half, ring), fill=(45, 45, 50))
    draw.polygon([(axis_x, tip_y), (axis_x - half, grip), (axis_x + half, grip)], fill=(70, 70, 75))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_pen_lying_beside_the_digit_is_not_taken_for_it(mnist_test, predictor):
    """The pen's tip and grip, clear of the frame's border, outweigh a thin pen's digit: the heaviest mark
    was taken for the digit, and 6 of these 20 were read right. Weighed by the length of its strokes
    rather than its ink, the digit is the heavier: 18 then, two of them 1s read from the pen's body, cut by the
    frame, as a rival mark where the pen's tip was chosen. A mark touching the frame's border is no rival now (in
    photos of no digit, a sheet's edge so read was a 1): 16."""
    photos, labels = paper_photos(mnist_test, 700, 20, 61, with_a_pen_beside, SMALL_THIN)
    right = read(photos, predictor) == labels
    assert right.sum() >= 16, f"read {right.mean():.0%}"


def with_a_whole_pen_beside(photo, rng: np.random.Generator) -> Image.Image:
    """The photo with a whole pen lying on the page beside its digit, clear of it and of the frame: 1.5 to 2.4
    times the digit's height long, an eighth to a fifth of it wide, tilted up to 30 degrees, with a cone at its
    tip; dark blue, black or red."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    size = bottom - top
    length, half = rng.uniform(1.5, 2.4) * size, rng.uniform(0.0625, 0.1) * size
    side = 1 if image.width - right > left else -1
    middle = np.array([(right if side > 0 else left) + side * (rng.uniform(0.35, 0.6) * size + half),
                       (top + bottom) / 2])
    angle = np.radians(rng.uniform(-30, 30))
    along, across = np.array([np.sin(angle), np.cos(angle)]), np.array([np.cos(angle), -np.sin(angle)])
    tip = middle - along * length / 2
    cone = tip + along * 3 * half
    end = middle + along * length / 2
    body = tuple(int(v) for v in rng.choice([[25, 35, 120], [20, 20, 20], [150, 20, 20]]))
    draw = ImageDraw.Draw(image)
    draw.polygon([tuple(cone - across * half), tuple(cone + across * half), tuple(end + across * half),
                  tuple(end - across * half)], fill=body)
    draw.polygon([tuple(tip), tuple(cone - across * half), tuple(cone + across * half)], fill=(200, 190, 160))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_whole_pen_lying_beside_the_digit_is_not_read_with_it(mnist_test, predictor):
    """A straight bar longer than the digit, apart from it: its ink outweighed the digit's, and the digit was
    read with it (a 5 and a pen, "not a digit") or not at all (the pen, a 1): 3 of these 20 were read right.
    The marks chosen with the pen left out are read too, and the model weighs the two: 11."""
    photos, labels = paper_photos(mnist_test, 720, 20, 63, with_a_whole_pen_beside)
    right = read(photos, predictor) == labels
    assert right.sum() >= 10, f"read {right.mean():.0%}"


def with_a_shaded_pen_beside(photo, rng: np.random.Generator) -> Image.Image:
    """The photo with a whole pen lying beside its digit, clear of it: 3 to 4 times the digit's height long, a
    third to a half of it wide, turned any way, a cylinder shaded across its width (dark edges, a bright
    highlight along it, as a lamp lights a pen) with a cone at its tip, and its soft shadow on the paper."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    size = bottom - top
    length, half = rng.uniform(3, 4) * size, rng.uniform(1 / 6, 1 / 4) * size
    angle = np.radians(rng.uniform(0, 180))
    along, across = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
    side = 1 if image.width - right > left else -1
    middle = np.array([(right if side > 0 else left) + side * (0.5 * size + abs(along[0]) * length / 2 + half),
                       (top + bottom) / 2])
    ys, xs = np.mgrid[:image.height, :image.width]
    offsets = np.stack([xs - middle[0], ys - middle[1]], axis=-1)
    position, off_axis = offsets @ along / (length / 2), offsets @ across / half
    # The last tenth of its length narrows to the tip.
    radius = np.clip((1 - position) / 0.2, 0, 1)
    body = (np.abs(position) <= 1) & (np.abs(off_axis) <= radius)
    shadow = ndimage.gaussian_filter(np.roll(body, (round(half), round(half)), axis=(0, 1)).astype(np.float32),
                                     half / 2)
    pixels = np.asarray(image, dtype=np.float32) * (1 - 0.35 * shadow[..., None])
    colour = np.array(rng.choice([[30, 40, 130], [25, 25, 28], [160, 30, 30]]), dtype=np.float32)
    # A cylinder lit from above: darkest at its edges, a narrow highlight a little off its axis.
    across_body = np.where(body, off_axis / np.maximum(radius, 1e-6), 0)
    shade = (1 - 0.6 * across_body ** 2)[..., None] * colour
    highlight = np.exp(-((across_body + 0.3) / 0.15) ** 2)[..., None] * (235 - colour)
    pixels = np.where(body[..., None], shade + highlight, pixels)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_shaded_pen_beside_a_thin_pen_s_digit_is_no_writing(mnist_test, predictor):
    """A pen lit from above is dark at its edges and bright along its middle: flattened, its ink is an outline,
    no solid bar, and it outweighed a thin pen's digit, read as a 1 or with the digit. A straight bar, solid or
    outlined, much wider than the digit's strokes, is no writing now (`marks.PEN_WIDER`): of these 20,
    5 were read right, 15 now."""
    photos, labels = paper_photos(mnist_test, 740, 20, 65, with_a_shaded_pen_beside, SMALL_THIN)
    right = read(photos, predictor) == labels
    assert right.sum() >= 13, f"read {right.mean():.0%}"


def ink_of_shapes(*shapes) -> np.ndarray:
    """A working photo's ink map (288x384) of dark shapes drawn with PIL: ("ellipse" or "line", box, width)."""
    canvas = Image.new("L", (384, 288), 0)
    draw = ImageDraw.Draw(canvas)
    for kind, box, width in shapes:
        if kind == "ellipse":
            draw.ellipse(box, outline=200, width=width)
        else:
            draw.line(box, fill=200, width=width)
    return np.asarray(canvas, dtype=np.float32) / 255


@pytest.mark.parametrize(("shapes", "apart"), [
    # A 0 and, apart from it, a pen twice as long, its strokes not much thinner: the 0 alone is read too.
    ([("ellipse", (100, 110, 140, 170), 5), ("line", (190, 80, 200, 200), 10)], "read apart"),
    # The same pen beside a 0 in a thin pen: no writing, left out.
    ([("ellipse", (100, 110, 140, 170), 3), ("line", (190, 80, 200, 200), 12)], "left out"),
    # A pen lit from above: its outline, the highlight along its middle no ink: left out.
    ([("ellipse", (100, 110, 140, 170), 3), ("line", (190, 80, 206, 200), 3), ("line", (204, 80, 220, 200), 3),
      ("line", (190, 80, 204, 80), 3), ("line", (206, 200, 220, 200), 3)], "left out"),
    # A 1 beside a 7 as tall (17): no pen.
    ([("line", (150, 110, 150, 170), 5), ("line", (170, 110, 200, 110), 5), ("line", (200, 110, 180, 170), 5)],
     "no pen"),
    # A 1's stem and its base drawn apart, a pen's width below it: no pen either.
    ([("line", (150, 100, 150, 170), 5), ("line", (135, 176, 165, 176), 5)], "no pen"),
    # A thin pen's 1 broken in two, its halves a little wavy: no pen either.
    ([("line", (150, 60, 154, 90), 2), ("line", (154, 90, 150, 120), 2), ("line", (150, 128, 146, 150), 2),
      ("line", (146, 150, 150, 172), 2)], "read whole"),
], ids=["0 and a pen", "0 and a wide pen", "0 and an outlined pen", "17", "1 and its base", "1 broken in two"])
def test_a_pen_beside_the_digit_is_read_apart_too(shapes, apart):
    masks, digits, _ = photo.marks.digit_masks(ink_of_shapes(*shapes), most=3)
    ring = ink_of_shapes(shapes[0]) > 0
    assert digits == (2 if apart == "read apart" else 1)
    if apart == "read whole":
        assert masks[0][ink_of_shapes(*shapes) > 0].mean() > 0.9
    elif apart != "no pen":
        alone = masks[1] if apart == "read apart" else masks[0]
        assert not (alone & ~ring).any() and alone[ring].mean() > 0.9
        assert len(masks) > 1 or apart == "left out"


def marked(photo, mark: str, rng: np.random.Generator) -> Image.Image:
    """The photo with a reader's mark in dark pen: a circle round its digit, a little open and
    clear of it ("circle") or drawn tight round its box, so that it runs into the digit's strokes
    near the box's corners ("tight circle"), a line under it as wide as it and a tenth as thick
    ("underline"), a line a twentieth of its size thick, slightly tilted, through its lowest pixels
    and on beyond it both ways ("touching underline"), or a dot in the middle of its box ("dot")."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    size = max(right - left, bottom - top)
    middle_x, middle_y = (left + right) / 2, (top + bottom) / 2
    pen = (40, 40, 50)
    draw = ImageDraw.Draw(image)
    if mark in ("circle", "tight circle"):
        spread, margin = (0.65, 0.0) if mark == "tight circle" else (0.75, 0.1)
        half_x, half_y = spread * (right - left) + margin * size, spread * (bottom - top) + margin * size
        start = rng.uniform(0, 360)
        draw.arc((middle_x - half_x, middle_y - half_y, middle_x + half_x, middle_y + half_y), start,
                 start + rng.uniform(335, 360), fill=pen, width=int(rng.uniform(0.04, 0.07) * size))
    elif mark == "underline":
        line_left, line_right, line_y = left - 0.1 * size, right + 0.1 * size, bottom + 0.15 * size
        draw.line(((line_left, line_y), (line_right, line_y)), fill=pen, width=int((line_right - line_left) / 10))
    elif mark == "touching underline":
        line_y = bottom - 0.02 * size
        draw.line(((left - 0.15 * size, line_y), (right + 0.15 * size, line_y + rng.uniform(-0.04, 0.04) * size)),
                  fill=pen, width=int(0.05 * size))
    else:
        radius = 0.05 * size
        draw.ellipse((middle_x - radius, middle_y - radius, middle_x + radius, middle_y + radius), fill=pen)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def marked_photos(mnist_test, indices, mark: str, seed: int) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [marked(photograph(mnist_test.images[index], int(mnist_test.labels[index]), "paper",
                              np.random.default_rng([seed, n])), mark, rng)
            for n, index in enumerate(indices)]


def test_a_circled_digit_is_read_without_the_circle(mnist_test, predictor):
    """A circle round the digit is its heaviest mark, or a mark near it: it was read as the digit,
    the digit inside taken for a part of it, and 1 of these 20 was read right."""
    photos = marked_photos(mnist_test, range(500, 520), "circle", 81)
    right = read(photos, predictor) == mnist_test.labels[500:520]
    assert right.mean() >= 0.9, f"read {right.mean():.0%}"


def test_a_circle_touching_the_digit_is_read_apart_from_it(mnist_test, predictor):
    """A circle running into the digit's strokes joins it into one mark, which was read as a whole
    (a 0, or "not a digit"), and 4 of these 20 were read right; the circle is the mark's outer band
    and the digit what lies inside."""
    photos = marked_photos(mnist_test, range(540, 560), "tight circle", 84)
    right = read(photos, predictor) == mnist_test.labels[540:560]
    assert right.mean() >= 0.9, f"read {right.mean():.0%}"


def smiley(photo, rng: np.random.Generator) -> Image.Image:
    """The photo's page with a smiley face drawn on it in dark pen, a fifth to two fifths of the frame
    high: a round face, two dots for eyes and a curved mouth."""
    image = photo.open().convert("RGB")
    radius = rng.uniform(0.1, 0.2) * image.height
    middle_x, middle_y = rng.uniform(0.35, 0.65) * image.width, rng.uniform(0.35, 0.65) * image.height
    pen = int(rng.uniform(0.03, 0.07) * radius)
    ink = tuple(int(v) for v in rng.choice([[30, 30, 35], [25, 40, 130]]))
    draw = ImageDraw.Draw(image)
    draw.ellipse((middle_x - radius, middle_y - radius, middle_x + radius, middle_y + radius), outline=ink, width=pen)
    for side in (-0.35, 0.35):
        eye_x, eye_y = middle_x + side * radius, middle_y - 0.3 * radius
        draw.ellipse((eye_x - pen, eye_y - pen, eye_x + pen, eye_y + pen), fill=ink)
    draw.arc((middle_x - 0.55 * radius, middle_y - 0.4 * radius, middle_x + 0.55 * radius, middle_y + 0.55 * radius),
             20, 160, fill=ink, width=pen)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def unwritten(kind: str, rng: np.random.Generator) -> Image.Image:
    """A 1600x1200 phone photo with nothing written in it: a bare wooden desk ("desk"), an empty sticky note on
    one, with its shadow ("note"), or a blank sheet folded once or twice, its parts lit differently ("creased");
    lit unevenly, noisy and blurred, as a JPEG."""
    height, width = 1200, 1600
    if kind == "creased":
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        pixels = np.ones((height, width, 3), np.float32) * rng.uniform(210, 245)
        for _ in range(rng.integers(1, 3)):
            angle, x0, y0 = rng.uniform(0, np.pi), rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
            across = (xs - x0) * np.sin(angle) - (ys - y0) * np.cos(angle)
            fold = np.where(across > 0, rng.uniform(0.85, 0.97), 1) * (
                1 - rng.uniform(0.1, 0.3) * np.exp(-(across / rng.uniform(1.5, 4)) ** 2))
            pixels *= fold[..., None]
    else:
        pixels = grained_desk(height, width, rng)
        if kind == "note":
            pixels = with_a_note(pixels, rng.uniform(0.35, 0.7) * height, rng)[0]
    return as_phone_photo(pixels, rng)


def grained_desk(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A wooden or grey desk's pixels (float RGB), its grain running across."""
    grain = ndimage.gaussian_filter(rng.standard_normal((height, width)), (rng.uniform(1, 3), rng.uniform(20, 60)))
    wood = np.array(rng.choice([[150, 105, 70], [190, 160, 120], [90, 90, 95]]), np.float32)
    return wood + (grain / grain.std() * rng.uniform(4, 14))[..., None]


def with_a_note(pixels: np.ndarray, side: float, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float]]:
    """The photo's pixels with a sticky note `side` pixels wide lying on them somewhere near the middle, turned
    up to 23 degrees, with its shadow; and the note's middle (x, y)."""
    height, width = pixels.shape[:2]
    angle = rng.uniform(-0.4, 0.4)
    middle_x, middle_y = rng.uniform(0.35, 0.65) * width, rng.uniform(0.35, 0.65) * height
    corners = [(middle_x + side / 2 * (dx * np.cos(angle) - dy * np.sin(angle)),
                middle_y + side / 2 * (dx * np.sin(angle) + dy * np.cos(angle)))
               for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    shadow, note = Image.new("L", (width, height)), Image.new("L", (width, height))
    ImageDraw.Draw(shadow).polygon([(x + 8, y + 10) for x, y in corners], fill=255)
    ImageDraw.Draw(note).polygon(corners, fill=255)
    pixels = pixels * (1 - rng.uniform(0.2, 0.5) * ndimage.gaussian_filter(np.asarray(shadow, np.float32) / 255, 8)
                       [..., None])
    covered = np.asarray(note.filter(ImageFilter.GaussianBlur(1)), np.float32)[..., None] / 255
    colour = np.array(rng.choice([[250, 235, 120], [255, 200, 210], [180, 230, 250]]), np.float32)
    return pixels * (1 - covered) + colour * covered, (middle_x, middle_y)


def as_phone_photo(pixels: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The pixels lit unevenly, noisy and blurred, as a JPEG."""
    height, width = pixels.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 - rng.uniform(0.1, 0.4) * (np.cos(angle) * xs + np.sin(angle) * ys) / width
    pixels = pixels * light[..., None] + rng.normal(0, rng.uniform(2, 7), pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    blurred = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.8)))
    blurred.save(buffer, "JPEG", quality=int(rng.integers(60, 92)))
    return Image.open(buffer)


def on_a_note_far_away(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A 1600x1200 phone photo of a sticky note on a desk, the note 6 to 16 % of the frame's height, the MNIST
    digit's strokes written on it with a pen 3 of the frame's pixels wide, under half the note high."""
    pixels = grained_desk(1200, 1600, rng)
    side = rng.uniform(0.06, 0.16) * 1200
    pixels, (middle_x, middle_y) = with_a_note(pixels, side, rng)
    strokes = [stroke.tolist() for stroke in place(digit_strokes(digit), rng, (0.8, 0.9))]
    box = round(side / 2)
    ink = 1 - np.asarray(render_strokes(strokes, side=box, pen_width=3 / box), np.float32) / 255
    top, left = round(middle_y - box / 2), round(middle_x - box / 2)
    pixels[top:top + box, left:left + box] *= 1 - 0.85 * ink[..., None]
    return as_phone_photo(pixels, rng)


def test_a_digit_on_a_note_far_away_is_read_from_the_note(mnist_test, predictor):
    """At the working resolution the note's digit is a few faint pixels, and the desk's grain and the note's edge
    and shadow outweighed it. The note is read close up, the desk round it left out (`photo.sheet`): 13 of these
    30 were read right before, 23 since, and 27 since a note joined by the desk's light grain is looked for among
    the brighter pixels too."""
    rng = np.random.default_rng(67)
    photos = [on_a_note_far_away(digit, rng) for digit in mnist_test.images[760:790]]
    right = read(photos, predictor) == mnist_test.labels[760:790]
    assert right.mean() >= 0.8, f"read {right.mean():.1%} of the photos right"


def grey_scene(scene: str) -> tuple[np.ndarray, np.ndarray]:
    """A 300x400 working photo (grey in [0, 1]) of the `scene`, and where a sheet lies in it."""
    rows, cols = np.mgrid[:300, :400].astype(np.float32)
    note = ndimage.rotate(((abs(rows - 150) < 40) & (abs(cols - 200) < 50)).astype(np.float32), 20,
                          order=1, reshape=False) > 0.5
    digit = abs(np.hypot((rows - 150) / 25, (cols - 200) / 15) - 1) < 0.15
    dark, bright = np.float32(0.25), np.float32(0.85)
    streaks = (abs(rows - 150) < 25) & (cols < 160)   # the desk's light grain, reaching the note
    grey, sheet = {
        "a note on a desk": (np.where(note & ~digit, bright, dark), note),
        "a white card on a pale desk": (np.where(note & ~digit, bright, 0.75), note),
        "a note beside a bright patch of the desk":
            (np.where((note & ~digit) | ((rows > 250) & (cols > 330)), bright, dark), note),
        "a note on a desk's light grain": (np.where(note & ~digit, bright, np.where(streaks, 0.6, dark)), note),
        "a note a pen lies across": (np.where(note & (abs(cols - 190) > 6), bright, dark), note),
        "a hard shadow across a sheet filling the frame": (np.where(cols < 180, bright, 0.45), None),
        "a sheet filling the frame": (np.where((rows > 20) & (cols > 20), bright, dark), None),
        "a lamp's light falling off towards the frame's edges":
            (0.95 - 0.6 * np.maximum(abs(rows - 150) / 150, abs(cols - 200) / 200), None),
        "a square chalk 0 on a board":
            (np.where(abs(np.maximum(abs(rows - 150) / 60, abs(cols - 200) / 40) - 0.85) < 0.15, bright, dark), None),
    }[scene]
    return np.asarray(grey, np.float32), sheet


@pytest.mark.parametrize("scene", ["a note on a desk", "a white card on a pale desk",
                                   "a note beside a bright patch of the desk", "a note on a desk's light grain",
                                   "a note a pen lies across",
                                   "a hard shadow across a sheet filling the frame",
                                   "a lamp's light falling off towards the frame's edges", "a sheet filling the frame",
                                   "a square chalk 0 on a board"])
def test_a_sheet_is_a_bare_bright_rectangle_with_the_desk_round_it(scene):
    grey, sheet = grey_scene(scene)
    found = photo.sheet.sheet_in(grey)
    if sheet is None:
        assert found is None
    else:
        assert found is not None and np.count_nonzero(found ^ sheet) <= 0.05 * np.count_nonzero(sheet)


def test_a_sheet_s_close_up_leaves_the_desk_out():
    """The close-up holds the note's pixels, and where the desk was, the note's tone."""
    grey, sheet = grey_scene("a note on a desk")
    image = Image.fromarray(np.round(255 * np.kron(grey, np.ones((4, 4)))).astype(np.uint8))
    close_up = np.asarray(photo.sheet.close_up(image, grey), np.float32) / 255
    rows, cols = np.nonzero(sheet)
    assert close_up.shape == (4 * (np.ptp(rows) + 1), 4 * (np.ptp(cols) + 1))
    assert close_up.min() < 0.3 and np.percentile(close_up, 10) > 0.8


@pytest.mark.parametrize("kind, before, now", [("desk", 9, 11), ("note", 3, 6)])
def test_a_photo_with_nothing_written_in_it_is_no_digit(predictor, kind, before, now):
    """A desk's grain, a sticky note's edge and shadow: the photo's strongest marks were such texture, and were
    read as digits, 1s mostly. The chosen marks must now stand out from the paper around them
    (`marks.stands_out`): of these 12 of each kind, `before` were answered "not a digit" or refused, `now` are."""
    photos = [unwritten(kind, np.random.default_rng([88, n])) for n in range(12)]
    digits = read(photos, predictor)
    assert np.isin(digits, [-1, None]).sum() >= now, digits


def test_a_mark_cut_by_the_frame_is_no_rival_of_a_mark_clear_of_it(predictor):
    """A sheet on a table: where its drawing was no digit, a sliver of the sheet's edge, cut by the frame, was
    read instead, as a 1 (2 of these 60 photographed non-digits, and 3 more of 200 with another seed)."""
    photos = [photograph(drawing, 0, "edge", np.random.default_rng([31, n])).open()
              for n, drawing in enumerate(not_digits(60, seed=31))]
    assert np.isin(read(photos, predictor), [-1, None]).all()


def test_a_photographed_smiley_is_not_a_digit(predictor):
    """The face's ring is a reader's circle round its mouth, which is no digit: the ring, read alone as the
    mark that might be the digit instead, was a 0, and 2 of these 20 were answered "not a digit"."""
    blank = np.zeros((28, 28), dtype=np.uint8)
    photos = [smiley(photograph(blank, 0, "paper", np.random.default_rng([86, n])), np.random.default_rng([87, n]))
              for n in range(20)]
    digits = read(photos, predictor)
    assert np.isin(digits, [-1, None]).sum() >= 18, digits


def test_photographed_0s_stay_0s(mnist_test, predictor):
    """A 0 is a ring with nothing inside its outer band: it is never taken for a circle round a digit."""
    zeros = np.flatnonzero(mnist_test.labels == 0)[20:40]
    photos = [photograph(mnist_test.images[index], 0, "paper", np.random.default_rng([85, n])).open()
              for n, index in enumerate(zeros)]
    assert (read(photos, predictor) == 0).mean() >= 0.9


def test_an_underlined_digit_is_read_without_the_line(mnist_test, predictor):
    """A thick line under the digit is not long and thin enough to be a ruled line, and it lies
    near the digit: it was kept as a part of it."""
    photos = marked_photos(mnist_test, range(520, 540), "underline", 82)
    plain = [photograph(image, int(label), "paper", np.random.default_rng([82, n]))
             for n, (image, label) in enumerate(zip(mnist_test.images[520:540], mnist_test.labels[520:540]))]
    digits = [ink_points(photo.open()) for photo in plain]
    # The line starts at least 0.09 of the digit's extent below the digit: ink found further down is the line's.
    beyond = [(ink_points(photo)[:, 1].max() - digit[:, 1].max()) / np.ptp(digit, axis=0).max()
              for photo, digit in zip(photos, digits)]
    assert max(beyond) < 0.05, np.round(beyond, 2)
    right = read(photos, predictor) == mnist_test.labels[520:540]
    assert right.mean() >= 0.9, f"read {right.mean():.0%}"


def test_a_line_touching_the_digit_s_bottom_is_cut_off(mnist_test, predictor):
    """A line through the lowest pixels of a 4, 7 or 9 joins it into one mark: read with it, 7s
    became 1s, 2s or a 3, 9s and 4s 2s or 1s, and 8 of these 20 were read right. The line's ends
    beyond the columns the digit stands on are cut off: 18 now."""
    indices = np.flatnonzero(np.isin(mnist_test.labels, [4, 7, 9]))[100:120]
    photos = marked_photos(mnist_test, indices, "touching underline", 86)
    right = read(photos, predictor) == mnist_test.labels[indices]
    assert right.mean() >= 0.8, f"read {right.mean():.0%}"


def drawn(strokes: list[list[tuple[int, int]]]) -> np.ndarray:
    """A 28x28 MNIST-like digit of pen strokes drawn on a 200x200 canvas: its box 20 pixels at
    most, in the middle."""
    canvas = Image.new("L", (200, 200), 0)
    draw = ImageDraw.Draw(canvas)
    for points in strokes:
        draw.line(points, fill=255, width=22, joint="curve")
    glyph = canvas.crop(canvas.getbbox())
    scale = 20 / max(glyph.size)
    glyph = glyph.resize((round(glyph.width * scale), round(glyph.height * scale)), Image.Resampling.LANCZOS)
    digit = Image.new("L", (28, 28), 0)
    digit.paste(glyph, ((28 - glyph.width) // 2, (28 - glyph.height) // 2))
    return np.asarray(digit)


# A 2 whose base is flat and wider than its top, starting a little left of where its stroke comes
# down; a 1 with a flag and a serif foot.
FLAT_BASED_TWO = [[(40, 60), (60, 30), (100, 20), (140, 35), (150, 65), (130, 100), (50, 170)], [(35, 170), (185, 170)]]
FOOTED_ONE = [[(75, 45), (100, 20), (100, 170)], [(50, 170), (150, 170)]]


@pytest.mark.parametrize("strokes, label", [(FLAT_BASED_TWO, 2), (FOOTED_ONE, 1)], ids=["flat-based 2", "footed 1"])
def test_a_digit_s_own_flat_stroke_at_its_bottom_is_no_underline(strokes, label, predictor):
    """A 2's base and a 1's foot are flat lines at the digit's bottom; neither is read away."""
    photos = [photograph(drawn(strokes), label, "paper", np.random.default_rng([90, n])).open() for n in range(10)]
    assert (read(photos, predictor) == label).all()


def test_a_0_with_a_dot_inside_stays_a_0(mnist_test, predictor):
    """A 0 is a ring round whatever lies in it; a dot in it is small beside the 0, so the 0 is
    not taken for a circle drawn round the dot."""
    zeros = np.flatnonzero(mnist_test.labels == 0)[:20]
    photos = marked_photos(mnist_test, zeros, "dot", 83)
    assert (read(photos, predictor) == 0).mean() >= 0.9


def punched(photo, rng: np.random.Generator) -> Image.Image:
    """The photo with a sheet's punched holes in a row down the side away from its digit: round
    holes a twentieth of the frame's width across, the dark desk showing through them."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    radius = rng.uniform(0.02, 0.03) * image.width
    inset = rng.uniform(0.03, 0.06) * image.width
    x = inset if points[:, 0].mean() > image.width / 2 else image.width - inset
    pitch = rng.uniform(0.1, 0.3) * image.height
    desk = tuple(int(v) for v in rng.choice([[120, 80, 50], [60, 60, 65], [30, 30, 35]]))
    draw = ImageDraw.Draw(image)
    for y in np.arange(rng.uniform(radius, pitch), image.height - radius, pitch):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=desk)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_sheet_s_punched_holes_are_not_the_digit(mnist_test, predictor):
    """A punched hole is a solid round mark, heavier than a thin pen's digit; a row of them near
    each other was read as the digit, or as its part: 9 of these 20 were read right, 19 now. Holes
    come in rows of equal ones, which a digit's strokes are not."""
    photos, labels = paper_photos(mnist_test, 620, 20, 93, punched, SMALL_THIN)
    right = read(photos, predictor) == labels
    assert right.mean() >= 0.9, f"read {right.mean():.0%}"


def test_a_percent_sign_keeps_its_rings(predictor):
    """A "%"'s two rings, small and blurred solid in a photo, are twins of a size, as punched holes
    are: they were dropped, leaving the slash, read as a 1 (12 of these 24 read as a digit, 5 now).
    Holes run along the sheet's edge beyond the digit; rings beside the slash belong to it."""
    rng = np.random.default_rng(7)
    drawings = [draw(place(deform(GLYPHS["%"], rng), rng, height_range=NOT_DIGIT_HEIGHTS), rng) for _ in range(24)]
    photos = [photograph(image, 10, VARIANTS[n % len(VARIANTS)], np.random.default_rng([7, n])).open()
              for n, image in enumerate(drawings)]
    caught = np.array([digit is None or digit == -1 for digit in read(photos, predictor)])
    assert caught.mean() >= 0.7, f"caught {caught.mean():.0%}"


def folded(photo, rng: np.random.Generator) -> Image.Image:
    """The photo of a sheet folded through its digit: a crease, a straight dark valley a few pixels
    wide, across the whole frame through a point of the digit's ink, and the two halves lit differently."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    through = points[rng.integers(len(points))]
    angle = rng.uniform(0, np.pi)
    ys, xs = np.mgrid[0:image.height, 0:image.width].astype(np.float32)
    across = (xs - through[0]) * np.cos(angle) + (ys - through[1]) * np.sin(angle)
    valley = 1 - rng.uniform(0.2, 0.35) * np.exp(-(across / rng.uniform(3, 8)) ** 2)
    shade = valley * np.where(across > 0, 1, rng.uniform(0.8, 0.95))
    buffer = io.BytesIO()
    Image.fromarray((np.asarray(image, dtype=np.float32) * shade[..., np.newaxis]).astype(np.uint8)).save(
        buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_digit_a_crease_runs_through_is_read_apart_from_it(mnist_test, predictor):
    """The crease's valley joins the thin pen's digit it runs through into one long line reaching
    the frame's border, which was dropped whole: 2 of these 20 found no mark, and 16 were read
    right (18 now). The line is the mark's straight band, and what lies beyond it the digit. One more, a tiny 2
    by the frame's corner that the crease cuts, was read from a faint piece of the crease, a 1: it is refused
    now, as showing no mark that stands out from the paper (`marks.stands_out`). And a 7, its reading 0.84 likely
    "not a digit", is answered so now, as a photo (`predict.PHOTO_NOT_A_DIGIT`): 17 read right before, 16 now."""
    photos, labels = paper_photos(mnist_test, 640, 20, 94, folded, SMALL_THIN)
    digits = read(photos, predictor)
    assert np.count_nonzero(digits == -1) <= 1, f"no mark found in {np.count_nonzero(digits == -1)}"
    assert (digits == labels).sum() >= 16, f"read {(digits == labels).mean():.0%}"


def held_down(photo, rng: np.random.Generator) -> Image.Image:
    """The photo with a finger holding the paper down beside its digit: a round-tipped band of skin
    from the nearest side of the frame, shaded round, with its nail and its soft shadow, its tip a
    little short of the digit's box or just over its edge."""
    image = photo.open().convert("RGB")
    points = ink_points(image)
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    size = max(right - left, bottom - top)
    middle = np.array([(left + right) / 2, (top + bottom) / 2])
    # From the nearest side of the frame, a little askew, toward the digit's middle.
    nearest = int(np.argmin([middle[0], image.width - middle[0], middle[1], image.height - middle[1]]))
    start = np.array([[0, middle[1]], [image.width, middle[1]], [middle[0], 0], [middle[0], image.height]][nearest],
                     dtype=float)
    start[nearest // 2 ^ 1] += rng.uniform(-0.5, 0.5) * size
    along = (middle - start) / np.linalg.norm(middle - start)
    reach = np.abs(along) @ [right - left, bottom - top] / 2
    width = float(rng.uniform(0.5, 0.9) * size)
    tip = middle - along * (reach + width / 2 + rng.uniform(-0.05, 0.15) * size)
    skin = np.array(rng.choice([[215, 160, 130], [175, 120, 90], [110, 75, 55], [235, 195, 170]]), dtype=np.float32)
    ys, xs = np.mgrid[0:image.height, 0:image.width].astype(np.float32)
    # Distance from the finger's axis, a segment from beyond the frame to the tip.
    length = np.linalg.norm(tip - start) + width
    origin = tip - along * length
    t = np.clip((xs - origin[0]) * along[0] + (ys - origin[1]) * along[1], 0, length)
    off_axis = np.hypot(xs - origin[0] - t * along[0], ys - origin[1] - t * along[1]) / (width / 2)
    shadow = np.asarray(Image.fromarray((off_axis < 1.1).astype(np.uint8) * 255).transform(
        image.size, Image.Transform.AFFINE, (1, 0, -0.1 * width, 0, 1, -0.15 * width)).filter(
        ImageFilter.GaussianBlur(0.08 * width)), dtype=np.float32)[..., None] / 255
    finger = np.clip((1 - off_axis) * width / 3, 0, 1)[..., None]
    shade = (0.7 + 0.3 * np.sqrt(np.clip(1 - off_axis, 0, 1)))[..., None]
    nail = (((t - length + 0.25 * width) / (0.2 * width)) ** 2 + (off_axis / 0.6) ** 2 < 1)[..., None]
    surface = np.where(nail, 0.6 * skin + 0.4 * np.float32([250, 225, 225]), skin) * shade
    pixels = np.asarray(image, dtype=np.float32) * (1 - rng.uniform(0.2, 0.4) * shadow)
    pixels = pixels * (1 - finger) + surface * finger
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1)).save(
        buffer, "JPEG", quality=85)
    return Image.open(buffer)


def test_a_finger_holding_the_paper_down_is_no_part_of_the_digit(mnist_test, predictor):
    """A finger beside the digit is a wide band darker than the paper: its outline and its shadow were
    ink joined to the digit, and 17 of these 20 were read right. Its skin, warmer than the paper
    around it, sets it aside with its shadow: 19."""
    photos, labels = paper_photos(mnist_test, 600, 20, 91, held_down)
    right = read(photos, predictor) == labels
    assert right.mean() >= 0.9, f"read {right.mean():.0%}"


def test_only_a_finger_entering_from_the_border_covers_the_paper():
    """A red pen's stroke from the frame's border, as wide as a finger, is no skin (its green is as
    low as its blue), nor is the half of the page a lamp lights warm (the paper around it is as
    warm). A brown desk seen beyond the sheet's edge, and through a column of punched holes, is as
    warm as skin, but runs along the border; a finger enters across it, about as wide as it is."""
    width, height = 400, 300
    warm_light = np.linspace([1.0, 1.0, 1.0], [1.0, 0.85, 0.65], width, dtype=np.float32)
    pixels = np.full((height, width, 3), 235, dtype=np.float32) * warm_light
    pixels[:40, 100:130] = (200, 40, 45)
    pixels[:, :30] = (120, 80, 50)
    holes = Image.fromarray(pixels.astype(np.uint8))
    for y in range(0, height + 20, 24):
        ImageDraw.Draw(holes).ellipse((40, y - 10, 60, y + 10), fill=(120, 80, 50))
    pixels = np.asarray(holes, dtype=np.float32)
    assert photo.surface.covered(Image.fromarray(pixels.astype(np.uint8)), (height, width)) is None
    pixels[:120, 250:290] = (215, 160, 130)
    finger = photo.surface.covered(Image.fromarray(pixels.astype(np.uint8)), (height, width))
    assert finger[:120, 250:290].all()
    assert not finger[:, :70].any() and not finger[:, 100:130].any()


@pytest.mark.parametrize("reach", [0.3, 0.45])
def test_a_palm_entering_from_the_border_covers_the_paper(reach):
    """A hand writing lies in the frame as a palm far wider than a finger, wider than the window the
    paper's colour was measured in (a quarter of the short side): there the paper's colour was the
    palm's own, so the palm was no skin (29 % of the smaller covered, none of the larger)."""
    width, height = 400, 300
    image = Image.new("RGB", (width, height), (235, 235, 230))
    across, up = reach * height, 0.6 * reach * height
    ImageDraw.Draw(image).ellipse((200 - across, height - up, 200 + across, height + up), fill=(215, 160, 130))
    palm = np.asarray(image)[..., 0] < 225
    finger = photo.surface.covered(image, (height, width))
    assert finger is not None and finger[palm].mean() > 0.95


def on_a_form(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A ballpoint's digit photographed beside a form's bold printed label, which outweighs it."""
    from mlcore.datasets.drawn import digit_strokes
    from mlcore.render import render_strokes
    from PIL import ImageFont

    page = np.full((900, 1200), 236, dtype=np.float32)
    pen = np.asarray(render_strokes([s.tolist() for s in digit_strokes(digit)], side=300, pen_width=0.035),
                     dtype=np.float32) / 255
    page[300:600, 640:940] *= 0.45 + 0.55 * pen
    form = Image.fromarray(page.astype(np.uint8))
    ImageDraw.Draw(form).text((180, 470), "Quantity:", fill=15, font=ImageFont.load_default(size=110))
    shot = np.asarray(form.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float32) + rng.normal(0, 3, page.shape)
    return Image.fromarray(np.clip(shot, 0, 255).astype(np.uint8))


def test_a_digit_beside_a_printed_label_is_read_not_the_label(mnist_test, predictor):
    """The label's toner outweighs the pen, so the label was read: 12 of these 20 right, the rest
    "not a digit". The digit, a mark taller than the label, is read too, and taken where the label
    is no digit."""
    rng = np.random.default_rng(4)
    right = read([on_a_form(digit, rng) for digit in mnist_test.images[:20]], predictor) == mnist_test.labels[:20]
    assert right.sum() >= 18


def under_a_header(digit: np.ndarray, rng: np.random.Generator, below: bool) -> Image.Image:
    """A ballpoint's digit photographed with a line of print just above or below it, as a worksheet's header."""
    from mlcore.datasets.drawn import digit_strokes
    from mlcore.render import render_strokes
    from PIL import ImageFont

    page = np.full((900, 1200), 236, dtype=np.float32)
    pen = np.asarray(render_strokes([s.tolist() for s in digit_strokes(digit)], side=300, pen_width=0.035),
                     dtype=np.float32) / 255
    page[300:600, 450:750] *= 0.45 + 0.55 * pen
    sheet = Image.fromarray(page.astype(np.uint8))
    words = " ".join(rng.choice(["Name", "Class", "check", "your", "answer", "Exercise", "notes", "write"], 4))
    ImageDraw.Draw(sheet).text((330, 610 if below else 255), words, fill=20, font=ImageFont.load_default(size=32))
    shot = np.asarray(sheet.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float32) + rng.normal(0, 3, page.shape)
    return Image.fromarray(np.clip(shot, 0, 255).astype(np.uint8))


def test_a_line_of_print_above_or_below_the_digit_is_no_part_of_it(mnist_test, predictor):
    """Its words lay near the digit, and were read with it as the digit's own marks: 15 of these 20 right (an
    independent audit's worksheet headers, 4 of 10)."""
    rng = np.random.default_rng(5)
    photos = [under_a_header(digit, rng, below=n % 2 == 1) for n, digit in enumerate(mnist_test.images[:20])]
    assert (read(photos, predictor) == mnist_test.labels[:20]).sum() >= 19


def test_a_rival_is_read_only_where_the_likeliest_mark_is_no_digit(predictor):
    readings = np.zeros((3, 28, 28), dtype=np.float32)
    readings[0, 4:24, 13:15] = 1                  # a 1: the likeliest mark's reading
    readings[1, 4:24, 8:20] = 1                   # a block: its other way
    readings[2, 4:24, 12:16] = 1                  # a rival, a 1 too
    assert predictor.likeliest_digit(readings, 2) == 0
    readings[0] = 0                               # no digit at all
    assert predictor.likeliest_digit(readings, 2) == 2


def test_a_faint_digit_found_above_the_paper_s_noise_is_read(mnist_test, predictor):
    """A pencil's digit a tenth darker than its paper: its marks stand well clear of the paper's noise,
    yet it was refused as "the drawing is blank" (its ink under a drawing's least contrast)."""
    from mlcore.datasets.drawn import digit_strokes
    from mlcore.render import render_strokes

    photos = []
    for n, digit in enumerate(mnist_test.images[:10]):
        pencil = np.asarray(render_strokes([s.tolist() for s in digit_strokes(digit)], side=200, pen_width=0.06),
                            dtype=np.float32) / 255
        page = np.full((480, 640), 230, dtype=np.float32)
        page[140:340, 220:420] -= 22 * (1 - pencil)
        noisy = page + np.random.default_rng(n).normal(0, 1.5, page.shape)
        photos.append(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)))
    assert (read(photos, predictor) == mnist_test.labels[:10]).sum() >= 9


def test_a_sheet_photographed_on_a_table_and_sent_unsaid_is_read_as_a_photo(mnist_test, predictor):
    """The table fills the border, so its tone was taken for the paper and the whole sheet for a
    drawing: unmarked, a third of these were read as drawings. Their paper's grain says photo."""
    digits, labels = mnist_test.images[500:520], mnist_test.labels[500:520]
    photos = [photograph(digit, int(label), "edge", np.random.default_rng([14, n])).open()
              for n, (digit, label) in enumerate(zip(digits, labels))]
    read_unsaid = [predictor.predict(to_mnist_input(image, photo=None, likeliest=predictor.likeliest_digit)).digit
                   for image in photos]
    assert (np.array(read_unsaid) == labels).sum() >= 19


def test_a_shadow_s_edge_fainter_than_the_pen_is_no_reading_of_a_non_digit(predictor):
    """Photographed non-digits under a hard shadow: the marks, read, are no digit, and of the shadow's
    edge, read as a rival mark, the model made a 1 (a reading as faint as that is no pen's): the three
    of the README's 480 photographed non-digits that were answered a 1 so."""
    for count, seed, index in ((160, 5, 35), (320, 7, 123), (320, 7, 179)):
        drawing = not_digits(count, seed=seed)[index]
        shot = photograph(drawing, 0, VARIANTS[index % len(VARIANTS)], np.random.default_rng([seed, index]), SIZES)
        assert read([shot.open()], predictor)[0] is None, (seed, index)


def screenshot(photo: Image.Image, rng: np.random.Generator, dark: bool, chat: bool, shown_width: int = 720,
               keyboard: bool = False, wallpaper: str = "") -> Image.Image:
    """A 1080x2340 phone screenshot of the photo in a gallery (shown the screen's width) or a chat (in a
    bubble `shown_width` wide, under two of the other's, the keyboard open or not, on the app's tone or a
    "graded", "patterned" or "paper-toned" wallpaper between its header and its message bar), with its
    status bar, buttons and captions, in a dark or light theme, as a PNG."""
    width, height = 1080, 2340
    tone = tuple(rng.choice([(0, 0, 0), (18, 18, 18), (32, 33, 36)])) if dark else (250, 250, 250)
    text, bubble = ((235, 235, 235), (38, 45, 52)) if dark else ((25, 25, 25), (225, 232, 240))
    shot = Image.new("RGB", (width, height), tone)
    draw = ImageDraw.Draw(shot)
    if wallpaper == "graded":
        fade = np.linspace(0, 1, height - 400)[:, None, None]
        shades = (1 - fade) * np.array([245, 222, 205]) + fade * np.array([205, 220, 245])
        shot.paste(Image.fromarray(np.broadcast_to(shades, (height - 400, width, 3)).astype(np.uint8)), (0, 200))
    elif wallpaper == "paper-toned":
        paper = tuple(int(tone) for tone in np.median(np.asarray(photo.convert("RGB"))[:40], axis=(0, 1)))
        draw.rectangle((0, 200, width, height - 200), fill=paper)
    elif wallpaper == "patterned":
        draw.rectangle((0, 200, width, height - 200), fill=(14, 20, 26))
        for x, y, size in zip(rng.integers(0, width, 300), rng.integers(200, height - 260, 300), rng.integers(20, 70, 300)):
            draw.ellipse((x, y, x + size, y + size), outline=(40, 50, 60), width=3)
            draw.line((x, y + 60, x + 40, y), fill=(40, 50, 60), width=3)
    draw.text((40, 20), "12:45", fill=text, font_size=40)
    for icon in range(3):
        draw.rectangle((880 + 50 * icon, 30, 910 + 50 * icon, 60), fill=text)
    if chat:
        for top in (250, 420):
            draw.rounded_rectangle((60, top, 700, top + 120), 30, fill=bubble)
            draw.text((90, top + 35), "did you get it?", fill=text, font_size=40)
        shown = photo.resize((shown_width, round(photo.height * shown_width / photo.width)))
        left, top = width - 50 - shown.width, 600
        draw.rounded_rectangle((left - 12, top - 12, left + shown.width + 12, top + shown.height + 70), 30,
                               fill=(0, 92, 75) if dark else (220, 248, 198))
        draw.text((left + shown.width - 120, top + shown.height + 15), "12:44", fill=text, font_size=34)
        draw.rounded_rectangle((30, height - 170, width - 30, height - 60), 50, fill=bubble)
        if keyboard:
            draw.rectangle((0, 1450, width, height), fill=(38, 38, 42))
            for row in range(4):
                for key in range(10):
                    draw.rounded_rectangle((12 + 106 * key, 1490 + 150 * row, 106 + 106 * key, 1615 + 150 * row),
                                           10, fill=(78, 78, 84))
    else:
        shown = photo.resize((width, round(photo.height * width / photo.width)))
        left, top = 0, (height - shown.height) // 2 + int(rng.integers(-100, 100))
        draw.text((40, 120), "< Photos", fill=text, font_size=44)
        for button in range(1, 5):
            draw.ellipse((216 * button - 30, height - 180, 216 * button + 30, height - 120), outline=text, width=5)
    shot.paste(shown, (left, top))
    buffer = io.BytesIO()
    shot.save(buffer, "PNG")
    return Image.open(buffer)


@pytest.mark.parametrize("dark", [True, False], ids=["dark", "light"])
@pytest.mark.parametrize("chat", [False, True], ids=["gallery", "chat"])
def test_a_screenshot_of_a_photo_is_read_from_the_photo_it_shows(mnist_test, predictor, dark, chat):
    """Read whole, a bright photo on a dark app was taken for light ink on a board, and the app's
    text and buttons for marks: 3 and 1 of these 10 gallery and chat screenshots were right, 7 and 6 in
    a light theme; 39 of the 40 with the photo cut out of the app's flat tone (`mlcore.photo.screen`)
    and read beside the whole."""
    first = 900 + 10 * (2 * chat + dark)
    photos, labels = paper_photos(mnist_test, first, 10, 56, lambda photo, rng: photo.open())
    rng = np.random.default_rng([56, chat, dark])
    assert (read([screenshot(photo, rng, dark, chat) for photo in photos], predictor) == labels).sum() >= 9


def test_a_photo_is_no_screenshot(mnist_test):
    """A camera's surface is never one flat tone: no photo of any variant, or chalk on a board
    close up, or a drawing on a plain canvas, is cut."""
    photos = [photo.open() for photo in synthetic_photos(mnist_test.images[:24], mnist_test.labels[:24], seed=3)]
    close_ups = [cropped_to_the_digit(image, np.random.default_rng(n), chalk=bool(n % 2))
                 for n, image in enumerate(mnist_test.images[24:28])]
    drawings = [ImageOps.invert(Image.fromarray(image).resize((280, 280))) for image in mnist_test.images[28:32]]
    assert [screen.shown_photos(image) for image in photos + close_ups + drawings] == [[]] * 32


def test_a_chat_s_photo_is_cut_out_of_its_bubble_too(mnist_test):
    photo = photograph(mnist_test.images[0], int(mnist_test.labels[0]), "paper", np.random.default_rng(4)).open()
    shot = screenshot(photo, np.random.default_rng(4), dark=True, chat=True)
    (photo,) = screen.shown_photos(shot)
    width, height = photo.size
    # The photo is shown 720x540; the cut keeps 3 judged pixels (12 of the screenshot's) inside each edge.
    assert 696 <= width <= 720 and 516 <= height <= 540, (width, height)


def test_rectangles_nested_in_rectangles_are_cut_no_smaller_than_a_photo():
    """Each flat rectangle a sixth of the one around it: cut three times, a 2000-pixel image left 9 pixels."""
    image = Image.new("RGB", (2000, 2000), (0, 0, 0))
    box = (0, 0, 2000, 2000)
    for tone in ((200, 50, 50), (50, 200, 50), (50, 50, 200), (255, 255, 255)):
        margin = round(0.42 * (box[2] - box[0]))
        box = (box[0] + margin, box[1] + margin, box[2] - margin, box[3] - margin)
        ImageDraw.Draw(image).rectangle(box, fill=tone)
    assert [min(photo.size) >= 32 for photo in screen.shown_photos(image)] == [True]


def test_a_flat_box_beside_the_digit_is_no_photo_to_read_alone(mnist_test, predictor):
    """A drawing uploaded with a filled box beside its digit, on a flat white: the box was cut out as a
    screenshot's photo and the digit lost (none of these 10 read, all 10 before the cut). The image whole
    is read too, where the box shows no digit: 10."""
    drawings = []
    for n, digit in enumerate(mnist_test.images[960:970]):
        drawing = Image.new("RGB", (800, 600), (255, 255, 255))
        drawing.paste(ImageOps.invert(Image.fromarray(digit).resize((280, 280))).convert("RGB"), (60, 160))
        ImageDraw.Draw(drawing).rectangle((420 + 10 * n, 150, 740, 450), fill=(120, 170, 230))
        drawings.append(drawing)
    assert (read(drawings, predictor) == mnist_test.labels[960:970]).sum() >= 9


def test_of_two_photos_in_a_chat_the_one_showing_a_digit_is_read(mnist_test, predictor):
    """A chat's two photos side by side, the digit's on the right: the left one, as large, was the one
    cut out and read, and none of these 10 was right (2 read whole, before any cut). Each is read now,
    and the model weighs them: 10."""
    photos, labels = paper_photos(mnist_test, 970, 10, 57, lambda photo, rng: photo.open())
    rng = np.random.default_rng(57)
    shots = []
    for photo in photos:
        shot = Image.new("RGB", (1080, 2340), (18, 18, 18))
        shot.paste(scenery(rng, (500, 375)), (30, 900))
        shot.paste(photo.resize((500, 375)), (550, 900))
        shots.append(shot)
    assert (read(shots, predictor) == labels).sum() >= 9


def scenery(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A photo of no digit: soft blotches of colour."""
    blotches = np.clip(ndimage.gaussian_filter(rng.uniform(0, 255, (300, 400, 3)), (20, 20, 0)) * 2 - 128, 0, 255)
    return Image.fromarray(blotches.astype(np.uint8)).resize(size)


def test_each_photo_of_a_grid_of_four_is_read(mnist_test, predictor):
    """A gallery's grid of four photos, the digit's in the bottom row: only the two largest regions were
    cut out, the top row's two in a grid of equal tiles, and of an audit's 20 such screenshots 13 were read
    right (7 of the 14 whose digit was not cut out). All four are cut out now: 20."""
    photos, labels = paper_photos(mnist_test, 1000, 10, 58, lambda photo, rng: photo.open())
    rng = np.random.default_rng(58)
    shots = []
    for n, photo in enumerate(photos):
        shot = Image.new("RGB", (1080, 2340), (0, 0, 0))
        tiles = [scenery(rng, (534, 534)) for _ in range(3)]
        tiles.insert(2 + n % 2, photo.resize((534, 534)))
        for tile, (left, top) in zip(tiles, ((0, 400), (546, 400), (0, 946), (546, 946))):
            shot.paste(tile, (left, top))
        shots.append(shot)
    assert (read(shots, predictor) == labels).sum() >= 9


def landscape(rng: np.random.Generator, side: int) -> Image.Image:
    """A square photo of no digit: sky over a wavy horizon, and a few blurred discs of colour."""
    rows, cols = np.mgrid[0:side, 0:side]
    horizon = side * rng.uniform(0.35, 0.65) + side * 0.08 * np.sin(cols / side * rng.uniform(2, 6) + rng.uniform(0, 6))
    ground = np.clip((rows - horizon) / 6 + 0.5, 0, 1)[..., None]
    image = (rng.uniform([90, 140, 200], [170, 200, 250]) * (1 - ground)
             + rng.uniform([40, 90, 30], [110, 150, 80]) * ground)
    for _ in range(rng.integers(3, 9)):
        x, y, radius = rng.uniform(0, side), rng.uniform(0, side), rng.uniform(0.03, 0.15) * side
        disc = np.clip((radius - np.hypot(cols - x, rows - y)) / 3, 0, 1)[..., None]
        image = image * (1 - disc) + rng.uniform(20, 240, 3) * disc
    return Image.fromarray(np.clip(ndimage.gaussian_filter(image, (1, 1, 0)), 0, 255).astype(np.uint8))


def text_chat(rng: np.random.Generator, dark: bool) -> Image.Image:
    """A chat's screenshot of text messages alone, with their times."""
    tone, text = ((18, 18, 18), (235, 235, 235)) if dark else ((236, 229, 221), (20, 20, 20))
    shot = Image.new("RGB", (1080, 2340), tone)
    draw = ImageDraw.Draw(shot)
    words = "see you at the station then bring the keys and the blue bag ok on my way half past".split()
    top = 300
    while top < 1900:
        lines = [" ".join(rng.choice(words, int(rng.integers(2, 6)))) for _ in range(int(rng.integers(1, 4)))]
        width, mine = 40 + 20 * max(map(len, lines)), rng.random() < 0.5
        left = 1050 - width if mine else 30
        bubble = ((0, 92, 75) if dark else (217, 253, 211)) if mine else ((32, 44, 51) if dark else (255, 255, 255))
        draw.rounded_rectangle((left, top, left + width, top + 50 * len(lines) + 60), 28, fill=bubble)
        for row, line in enumerate(lines):
            draw.text((left + 30, top + 25 + 50 * row), line, fill=text, font_size=34)
        draw.text((left + width - 100, top + 50 * len(lines) + 20), f"{rng.integers(8, 23)}:{rng.integers(0, 60):02d}",
                  fill=(140, 140, 140), font_size=22)
        top += 50 * len(lines) + 90
    return shot


def test_a_screenshot_of_no_digit_is_answered_not_a_digit(predictor):
    """A gallery of fifteen landscapes, or a chat of text alone, read from each photo cut out and whole:
    of so many readings one often looked like a digit, and 0 and 3 of these 10 were answered "not a
    digit". A screenshot's reading must now be likelier a digit than not where another is plainly none:
    5 and 10."""
    rng = np.random.default_rng(59)
    galleries = []
    for dark in [True, False] * 5:
        shot = Image.new("RGB", (1080, 2340), (0, 0, 0) if dark else (255, 255, 255))
        ImageDraw.Draw(shot).text((40, 120), "Recents", fill=(230, 230, 230) if dark else (20, 20, 20), font_size=60)
        for row in range(5):
            for col in range(3):
                shot.paste(landscape(rng, 357), (361 * col, 250 + 361 * row))
        galleries.append(shot)
    chats = [text_chat(rng, dark) for dark in [True, False] * 5]
    assert (read(galleries, predictor) == None).sum() >= 4   # noqa: E711 (each answer, not the array)
    assert (read(chats, predictor) == None).sum() >= 8       # noqa: E711


def test_a_screenshot_s_reading_must_be_likelier_a_digit_than_not_where_another_is_plainly_none(predictor,
                                                                                               monkeypatch):
    readings = np.zeros((3, 28, 28), dtype=np.float32)
    for not_a_digit, screenshot, chosen in (((0.6, 0.99, 0.7), False, 0), ((0.6, 0.99, 0.7), True, 1),
                                            ((0.4, 0.99, 0.7), True, 0), ((0.6, 0.8, 0.7), True, 0),
                                            ((0.99, 0.95, 0.3), True, 2)):
        monkeypatch.setattr(predictor, "scores", lambda inputs, nd=not_a_digit: (np.full((3, 10), 0.1), np.array(nd)))
        assert predictor.likeliest_digit(readings, 2, screenshot) == chosen, (not_a_digit, screenshot)


def test_a_small_jpeg_screenshot_is_cut_past_its_ringing(mnist_test):
    """At 360x780 nothing averages a JPEG's ringing round the photo away, and its fringe on the photo's
    sides hid their straight edges: a gallery's photo was cut out of 1 of these 5 JPEGs."""
    cuts = []
    for n in range(5):
        photo = photograph(mnist_test.images[n], int(mnist_test.labels[n]), "paper", np.random.default_rng(n)).open()
        buffer = io.BytesIO()
        screenshot(photo, np.random.default_rng(n), dark=True, chat=False).resize((360, 780)).save(buffer, "JPEG",
                                                                                                quality=40)
        cuts += [cut.size for cut in screen.shown_photos(Image.open(buffer))]
    # The photo is shown 360x270.
    assert len(cuts) == 5 and all(340 <= width <= 360 and 255 <= height <= 270 for width, height in cuts), cuts


@pytest.mark.parametrize("shown_width, keyboard", [(720, True), (320, False)], ids=["keyboard-open", "small-photo"])
def test_a_chat_s_photo_is_cut_out_beside_its_keyboard_or_small(mnist_test, shown_width, keyboard):
    """With the keyboard open, its tone runs along the bottom and up the sides, and only the top (the
    status bar's) is the app's; a photo 320 pixels wide, in its bubble, is a seventh of the screenshot's
    height. Neither was cut out (6 and 5 of 20 such screenshots read right in an audit, 20 and 20 once cut)."""
    photo = photograph(mnist_test.images[2], int(mnist_test.labels[2]), "paper", np.random.default_rng(6)).open()
    shot = screenshot(photo, np.random.default_rng(6), dark=True, chat=True, shown_width=shown_width,
                      keyboard=keyboard)
    sizes = [cut.size for cut in screen.shown_photos(shot)]
    assert any(abs(width - shown_width) <= 24 and abs(height - shown_width * 3 / 4) <= 24
               for width, height in sizes), sizes


@pytest.mark.parametrize("wallpaper", ["graded", "patterned", "paper-toned"])
def test_a_chat_s_photo_is_cut_out_of_its_wallpaper(mnist_test, wallpaper):
    """A chat's wallpaper fading from one tone to another, or patterned with thin outlines: the whole
    wallpaper between the header and the message bar was cut out, not the photo's bubble in it (8 and 6
    of an audit's 20 such screenshots read right; 20 and 18 once the photo is cut out). Nor may the
    doodles' rule take a bubble's thin padding for a doodle where the photo's paper is of the wallpaper's
    tone: a beige chat's photos of cream paper were no longer cut out (an audit's small digits 20 → 18)."""
    photo = photograph(mnist_test.images[3], int(mnist_test.labels[3]), "paper", np.random.default_rng(7)).open()
    shot = screenshot(photo, np.random.default_rng(7), dark=wallpaper == "patterned", chat=True, wallpaper=wallpaper)
    sizes = [cut.size for cut in screen.shown_photos(shot)]
    assert any(abs(width - 720) <= 24 and abs(height - 540) <= 24 for width, height in sizes), sizes
