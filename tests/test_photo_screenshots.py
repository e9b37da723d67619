"""Screenshots of phone photos: the photos an app shows cut out and read, and screenshots of no digit."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps
from scipy import ndimage

from mlcore.datasets.photos_synth import photograph, synthetic_photos
from mlcore.photo import screen

from .photographs import cropped_to_the_digit, paper_photos, read


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
