"""Phone photos of written digits among other marks: notes, pens, circles and lines, holes, creases, fingers, print."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from mlcore import photo
from mlcore.datasets.drawn import digit_strokes, draw, place
from mlcore.datasets.hand import deform
from mlcore.datasets.negatives import GLYPHS, NOT_DIGIT_HEIGHTS, not_digits
from mlcore.datasets.photos_synth import SIZES, VARIANTS, photograph
from mlcore.preprocess import to_mnist_input
from mlcore.render import render_strokes

from .photographs import SMALL_THIN, ink_points, paper_photos, read


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
    photos, labels = paper_photos(mnist_test, 400, 10, 51, on_a_sticky_note)
    assert (read(photos, predictor) == labels).sum() >= 9


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
    no digit. Of 30 such photos, 11 were read right before a rectangle was no writing (`marks.rectangle`), 28
    since; the first 15 are read here."""
    rng = np.random.default_rng(3)
    photos = [on_a_note_on_a_dark_desk(digit, rng) for digit in mnist_test.images[700:715]]
    right = read(photos, predictor) == mnist_test.labels[700:715]
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
    alone: none of 24 such was answered "not a digit"; read together (`marks.beside_in_its_row`), 15. The first
    12 are read here: 6."""
    rng = np.random.default_rng(8)
    photos = [photograph(written_apart(mnist_test.images[900 + 2 * n], mnist_test.images[901 + 2 * n],
                                       int(rng.integers(2, 10))), 0, "paper", np.random.default_rng([8, n]),
                         (0.3, 0.45)).open() for n in range(12)]
    answers = read(photos, predictor)
    assert np.isin(answers, [None, -1]).sum() >= 6, answers


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
    photos of no digit, a sheet's edge so read was a 1): 16. The first 10 of these 20 are read here: 8."""
    photos, labels = paper_photos(mnist_test, 700, 10, 61, with_a_pen_beside, SMALL_THIN)
    right = read(photos, predictor) == labels
    assert right.sum() >= 8, f"read {right.mean():.0%}"


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
    The marks chosen with the pen left out are read too, and the model weighs the two: 11. The first 10 of these
    20 are read here: 5."""
    photos, labels = paper_photos(mnist_test, 720, 10, 63, with_a_whole_pen_beside)
    right = read(photos, predictor) == labels
    assert right.sum() >= 5, f"read {right.mean():.0%}"


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
    outlined, much wider than the digit's strokes, is no writing now (`marks.PEN_WIDER`): of 20 such,
    5 were read right before, 15 since; the first 10 are read here, 8 right."""
    photos, labels = paper_photos(mnist_test, 740, 10, 65, with_a_shaded_pen_beside, SMALL_THIN)
    right = read(photos, predictor) == labels
    assert right.sum() >= 7, f"read {right.mean():.0%}"


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
    # The same pen a stroke and a half from the 0: the 0 alone is read too.
    ([("ellipse", (100, 110, 140, 170), 5), ("line", (152, 80, 152, 200), 10)], "read apart"),
    # A % sign: its slash is as wide as its rings, no pen's body.
    ([("ellipse", (110, 100, 135, 130), 5), ("ellipse", (165, 160, 190, 190), 5), ("line", (180, 90, 120, 200), 5)],
     "no pen"),
    # A 1 beside a 7 as tall (17): no pen.
    ([("line", (150, 110, 150, 170), 5), ("line", (170, 110, 200, 110), 5), ("line", (200, 110, 180, 170), 5)],
     "no pen"),
    # A 1's stem and its base drawn apart, a pen's width below it: no pen either.
    ([("line", (150, 100, 150, 170), 5), ("line", (135, 176, 165, 176), 5)], "no pen"),
    # A thin pen's 1 broken in two, its halves a little wavy: no pen either.
    ([("line", (150, 60, 154, 90), 2), ("line", (154, 90, 150, 120), 2), ("line", (150, 128, 146, 150), 2),
      ("line", (146, 150, 150, 172), 2)], "read whole"),
], ids=["0 and a pen", "0 and a wide pen", "0 and an outlined pen", "0 and a pen near it", "% sign", "17", "1 and its base",
        "1 broken in two"])
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


def test_a_solid_object_chosen_leaves_a_thin_pen_s_digit_as_a_rival():
    """An eraser, a marker's cap: solid, it outweighs a thin pen's 0 in ink four times over and is chosen, but
    in strokes (ink over thickness, as marks are chosen by) not twice: the 0 is read too, and the model weighs
    them. Read against the chosen mark's ink, it was no rival, and the photo was answered "not a digit"."""
    block, zero = ("line", (40, 220, 120, 220), 24), ("ellipse", (220, 60, 260, 130), 2)
    ink = ink_of_shapes(block, zero)
    masks, digits, _ = photo.marks.digit_masks(ink, most=3)
    assert digits == 1 and len(masks) == 2
    assert masks[0][ink_of_shapes(block) > 0].all() and not masks[0][ink_of_shapes(zero) > 0].any()
    assert masks[1][ink_of_shapes(zero) > 0].all() and not masks[1][ink_of_shapes(block) > 0].any()


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
    the digit inside taken for a part of it, and 1 of 20 such photos was read right; the first 10 are read here."""
    photos = marked_photos(mnist_test, range(500, 510), "circle", 81)
    right = read(photos, predictor) == mnist_test.labels[500:510]
    assert right.mean() >= 0.9, f"read {right.mean():.0%}"


def test_a_circle_touching_the_digit_is_read_apart_from_it(mnist_test, predictor):
    """A circle running into the digit's strokes joins it into one mark, which was read as a whole
    (a 0, or "not a digit"), and 4 of 20 such photos were read right; the circle is the mark's outer band
    and the digit what lies inside. The first 10 are read here."""
    photos = marked_photos(mnist_test, range(540, 550), "tight circle", 84)
    right = read(photos, predictor) == mnist_test.labels[540:550]
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
    and shadow outweighed it. The note is read close up, the desk round it left out (`photo.sheet`): of 30 such
    photos, 13 were read right before, 23 since, and 27 since a note joined by the desk's light grain is looked
    for among the brighter pixels too; of the first 15, read here, 13."""
    rng = np.random.default_rng(67)
    photos = [on_a_note_far_away(digit, rng) for digit in mnist_test.images[760:775]]
    right = read(photos, predictor) == mnist_test.labels[760:775]
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


@pytest.mark.parametrize("kind", ["desk", "note"])
def test_a_photo_with_nothing_written_in_it_is_no_digit(predictor, kind):
    """A desk's grain, a sticky note's edge and shadow: the photo's strongest marks were such texture, and were
    read as digits, 1s mostly. The chosen marks must now stand out from the paper around them
    (`marks.stands_out`): of 12 desks, 9 were answered "not a digit" or refused before, 11 since; of 12 notes,
    3 before, 6 since. The first 6 of each are read here, and each is."""
    photos = [unwritten(kind, np.random.default_rng([88, n])) for n in range(6)]
    digits = read(photos, predictor)
    assert np.isin(digits, [-1, None]).all(), digits


def test_a_mark_cut_by_the_frame_is_no_rival_of_a_mark_clear_of_it(predictor):
    """A sheet on a table: where its drawing was no digit, a sliver of the sheet's edge, cut by the frame, was
    read instead, as a 1 (2 of 60 such photographed non-digits, the first 30 of which are read here, and 3 more
    of 200 with another seed)."""
    photos = [photograph(drawing, 0, "edge", np.random.default_rng([31, n])).open()
              for n, drawing in enumerate(not_digits(30, seed=31))]
    assert np.isin(read(photos, predictor), [-1, None]).all()


def test_a_photographed_smiley_is_not_a_digit(predictor):
    """The face's ring is a reader's circle round its mouth, which is no digit: the ring, read alone as the
    mark that might be the digit instead, was a 0, and 2 of 20 such were answered "not a digit"; the first 10
    are read here, and each is."""
    blank = np.zeros((28, 28), dtype=np.uint8)
    photos = [smiley(photograph(blank, 0, "paper", np.random.default_rng([86, n])), np.random.default_rng([87, n]))
              for n in range(10)]
    digits = read(photos, predictor)
    assert np.isin(digits, [-1, None]).sum() >= 9, digits


def test_photographed_0s_stay_0s(mnist_test, predictor):
    """A 0 is a ring with nothing inside its outer band: it is never taken for a circle round a digit."""
    zeros = np.flatnonzero(mnist_test.labels == 0)[20:30]
    photos = [photograph(mnist_test.images[index], 0, "paper", np.random.default_rng([85, n])).open()
              for n, index in enumerate(zeros)]
    assert (read(photos, predictor) == 0).mean() >= 0.9


def test_an_underlined_digit_is_read_without_the_line(mnist_test, predictor):
    """A thick line under the digit is not long and thin enough to be a ruled line, and it lies
    near the digit: it was kept as a part of it. The first 10 of 20 such are read here, all right."""
    photos = marked_photos(mnist_test, range(520, 530), "underline", 82)
    plain = [photograph(image, int(label), "paper", np.random.default_rng([82, n]))
             for n, (image, label) in enumerate(zip(mnist_test.images[520:530], mnist_test.labels[520:530]))]
    digits = [ink_points(photo.open()) for photo in plain]
    # The line starts at least 0.09 of the digit's extent below the digit: ink found further down is the line's.
    beyond = [(ink_points(photo)[:, 1].max() - digit[:, 1].max()) / np.ptp(digit, axis=0).max()
              for photo, digit in zip(photos, digits)]
    assert max(beyond) < 0.05, np.round(beyond, 2)
    right = read(photos, predictor) == mnist_test.labels[520:530]
    assert right.mean() >= 0.9, f"read {right.mean():.0%}"


def test_a_line_touching_the_digit_s_bottom_is_cut_off(mnist_test, predictor):
    """A line through the lowest pixels of a 4, 7 or 9 joins it into one mark: read with it, 7s
    became 1s, 2s or a 3, 9s and 4s 2s or 1s, and 8 of these 20 were read right. The line's ends
    beyond the columns the digit stands on are cut off: 18 then; the first 10 are read here."""
    indices = np.flatnonzero(np.isin(mnist_test.labels, [4, 7, 9]))[100:110]
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
    zeros = np.flatnonzero(mnist_test.labels == 0)[:10]
    photos = marked_photos(mnist_test, zeros, "dot", 83)
    assert (read(photos, predictor) == 0).sum() >= 9


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
    each other was read as the digit, or as its part: of 20 such photos 9 were read right, 19 since. Holes
    come in rows of equal ones, which a digit's strokes are not. The first 10 are read here."""
    photos, labels = paper_photos(mnist_test, 620, 10, 93, punched, SMALL_THIN)
    right = read(photos, predictor) == labels
    assert right.mean() >= 0.9, f"read {right.mean():.0%}"


def test_a_percent_sign_keeps_its_rings(predictor):
    """A "%"'s two rings, small and blurred solid in a photo, are twins of a size, as punched holes
    are: they were dropped, leaving the slash, read as a 1 (of 24 such, 12 were read as a digit before,
    5 since; the first 12 are read here, 2 as a digit). Holes run along the sheet's edge beyond the digit;
    rings beside the slash belong to it."""
    rng = np.random.default_rng(7)
    drawings = [draw(place(deform(GLYPHS["%"], rng), rng, height_range=NOT_DIGIT_HEIGHTS), rng) for _ in range(12)]
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
    "not a digit", is answered so now, as a photo (`predict.PHOTO_NOT_A_DIGIT`): 17 read right before, 16 now.
    The first 10 of these 20 are read here: 8 right, and a mark found in each."""
    photos, labels = paper_photos(mnist_test, 640, 10, 94, folded, SMALL_THIN)
    digits = read(photos, predictor)
    assert np.count_nonzero(digits == -1) <= 1, f"no mark found in {np.count_nonzero(digits == -1)}"
    assert (digits == labels).sum() >= 8, f"read {(digits == labels).mean():.0%}"


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
    ink joined to the digit, and 17 of 20 such photos were read right. Its skin, warmer than the paper
    around it, sets it aside with its shadow: 19, and the first 10, read here, all."""
    photos, labels = paper_photos(mnist_test, 600, 10, 91, held_down)
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
    """The label's toner outweighs the pen, so the label was read: 12 of 20 such photos right, the rest
    "not a digit". The digit, a mark taller than the label, is read too, and taken where the label
    is no digit. The first 10 are read here."""
    rng = np.random.default_rng(4)
    right = read([on_a_form(digit, rng) for digit in mnist_test.images[:10]], predictor) == mnist_test.labels[:10]
    assert right.sum() >= 9


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
    independent audit's worksheet headers, 4 of 10); the first 10 are read here."""
    rng = np.random.default_rng(5)
    photos = [under_a_header(digit, rng, below=n % 2 == 1) for n, digit in enumerate(mnist_test.images[:10])]
    assert (read(photos, predictor) == mnist_test.labels[:10]).sum() >= 9


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
    digits, labels = mnist_test.images[500:510], mnist_test.labels[500:510]
    photos = [photograph(digit, int(label), "edge", np.random.default_rng([14, n])).open()
              for n, (digit, label) in enumerate(zip(digits, labels))]
    read_unsaid = [predictor.predict(to_mnist_input(image, photo=None, likeliest=predictor.likeliest_digit)).digit
                   for image in photos]
    assert (np.array(read_unsaid) == labels).sum() >= 9


def test_a_shadow_s_edge_fainter_than_the_pen_is_no_reading_of_a_non_digit(predictor):
    """Photographed non-digits under a hard shadow: the marks, read, are no digit, and of the shadow's
    edge, read as a rival mark, the model made a 1 (a reading as faint as that is no pen's): the three
    of the README's 480 photographed non-digits that were answered a 1 so."""
    for count, seed, index in ((160, 5, 35), (320, 7, 123), (320, 7, 179)):
        drawing = not_digits(count, seed=seed)[index]
        shot = photograph(drawing, 0, VARIANTS[index % len(VARIANTS)], np.random.default_rng([seed, index]), SIZES)
        assert read([shot.open()], predictor)[0] is None, (seed, index)
