"""Synthetic phone photos of MNIST digits written on paper, a whiteboard or a blackboard.

Each photo is a 1600x1200 JPEG, as a phone would send it: the digit small somewhere in the
frame, written with a pen of random colour, darkness and width on a surface with its own colour
and texture, lit unevenly, slightly rotated, blurred, noisy and compressed. One variant in
eight adds one hard case (a strong light gradient, a shadow, the pixels stored sideways with an
EXIF orientation tag, ruled paper, the paper's edge in the frame), so accuracy can be read per
case. Use MNIST test digits to evaluate and training digits to tune.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..exif import ORIENTATION

VARIANTS = ("paper", "gradient", "shadow", "sideways", "ruled", "edge", "whiteboard", "blackboard")
FRAME = (1600, 1200)
# Lighting, shadow and texture vary slowly: drawn this many times smaller, then enlarged.
COARSE = 8
# The side of the box the 28x28 digit is enlarged to, as a share of the frame's short side (the
# digit itself is about 70 % of it): a digit small somewhere in the frame.
SIZES = (0.14, 0.4)
# The page lies this many degrees either way from level, unless turned further on purpose, and the
# digit is written as far off the page's level.
MAX_TILT = 6
# The transposition that stores upright pixels under each EXIF orientation tag; Pillow's
# ImageOps.exif_transpose applies the opposite one to show them upright again.
STORED_AS = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@dataclass(frozen=True)
class Photo:
    jpeg: bytes    # the file as a phone would upload it, EXIF orientation tag included
    label: int
    variant: str

    def open(self) -> Image.Image:
        return Image.open(io.BytesIO(self.jpeg))


def synthetic_photos(images: np.ndarray, labels: np.ndarray, seed: int = 0,
                     sizes: tuple[float, float] = SIZES) -> list[Photo]:
    """One photo per (28, 28) uint8 MNIST digit, cycling through VARIANTS."""
    return [photograph(image, int(label), VARIANTS[n % len(VARIANTS)], np.random.default_rng([seed, n]), sizes)
            for n, (image, label) in enumerate(zip(images, labels))]


def photograph(digit: np.ndarray, label: int, variant: str, rng: np.random.Generator,
               sizes: tuple[float, float] = SIZES, tilt: float | None = None) -> Photo:
    """A photo of the digit on a page turned `tilt` degrees counter-clockwise, by default a slight
    turn drawn up to MAX_TILT either way; the digit is written up to MAX_TILT off the page's level."""
    # Sideways photos are portrait pictures a phone stored landscape: upright they stand tall.
    width, height = FRAME[::-1] if variant == "sideways" else FRAME
    tilt = rng.uniform(-MAX_TILT, MAX_TILT) if tilt is None else tilt
    colour, pen, texture = surface(variant, rng)
    pixels = np.empty((height, width, 3), dtype=np.float32)
    pixels[:] = colour
    pixels *= enlarge(1 + texture * rng.standard_normal((height // COARSE, width // COARSE)), width, height)[..., np.newaxis]
    if variant == "ruled":
        pixels *= ruled_lines(width, height, tilt, rng)
    if variant == "edge":
        pixels = table_around_paper(pixels, rng)

    ink, box = written(digit, width, height, tilt, variant, rng, sizes)
    left, top, side, _ = box
    # The pen touched only the box it wrote in: mixed there alone, a photo is made in an eighth less time.
    under_pen = pixels[top:top + side, left:left + side]
    under_pen[:] = under_pen * (1 - ink[..., np.newaxis]) + np.float32(pen) * ink[..., np.newaxis]
    pixels *= lighting(variant, width, height, box, rng)[..., np.newaxis]
    pixels += rng.normal(0, rng.uniform(1.5, 6), (height, width, 1)).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255, out=pixels).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.8)))

    exif = Image.Exif()
    if variant == "sideways":
        orientation = int(rng.choice([6, 8, 3], p=[0.45, 0.45, 0.1]))
        image = image.transpose(STORED_AS[orientation])
        exif[ORIENTATION] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=int(rng.integers(55, 92)), exif=exif)
    return Photo(buffer.getvalue(), label, variant)


def surface(variant: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """The surface's colour, the pen's colour and the surface's texture strength."""
    if variant == "blackboard":
        board = rng.choice([[45, 70, 55], [40, 44, 48], [30, 55, 45]]) * rng.uniform(0.7, 1.3)
        chalk = rng.choice([[235, 235, 230], [240, 235, 170], [200, 225, 245]]) * rng.uniform(0.8, 1)
        return board, chalk, 0.08
    if variant == "whiteboard":
        board = np.array([240, 243, 246]) * rng.uniform(0.9, 1)
        marker = rng.choice([[25, 25, 30], [20, 40, 150], [170, 30, 30], [20, 110, 50]])
        return board, marker, 0.01
    paper = np.array([248, 245, 236]) - rng.uniform(0, 25, 3)
    pen = rng.choice([[25, 30, 110], [20, 20, 25], [70, 70, 75]])
    return paper, pen, 0.025


def written(digit: np.ndarray, width: int, height: int, tilt: float, variant: str, rng: np.random.Generator,
            sizes: tuple[float, float] = SIZES) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Ink opacity in the box the digit was written in, and that box somewhere in the frame: the
    digit enlarged, turned, with a pen of random width and darkness."""
    side = int(rng.uniform(*sizes) * min(width, height))
    glyph = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    glyph = glyph.rotate(tilt + rng.uniform(-MAX_TILT, MAX_TILT), Image.Resampling.BICUBIC)
    strength = np.asarray(glyph, dtype=np.float32) / 255
    # Cutting the smooth enlarged digit higher or lower gives a thinner or wider pen stroke.
    cut = rng.uniform(0.3, 0.65)
    edge = rng.uniform(0.04, 0.12)
    stroke = np.clip((strength - cut) / edge + 0.5, 0, 1)
    darkness = rng.uniform(0.5, 0.95) if variant != "blackboard" else rng.uniform(0.6, 0.9)
    if variant == "blackboard":
        # Chalk leaves grainy strokes.
        stroke *= np.clip(rng.normal(0.85, 0.25, stroke.shape), 0, 1).astype(np.float32)
    # On a sheet with the table around it, the digit stays clear of where the sheet may end.
    margin = max(side // 8, int(0.17 * min(width, height))) if variant == "edge" else side // 8
    left = int(rng.uniform(margin, width - side - margin))
    top = int(rng.uniform(margin, height - side - margin))
    return stroke * darkness, (left, top, side, side)


def enlarge(field: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.fromarray(field.astype(np.float32), mode="F").resize(
        (width, height), Image.Resampling.BILINEAR))


def lighting(variant: str, width: int, height: int, box: tuple[int, int, int, int],
             rng: np.random.Generator) -> np.ndarray:
    """Light falling on the frame: a gradient across it, a vignette, and maybe a soft shadow."""
    w, h = width // COARSE, height // COARSE
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    along = (xs / w - 0.5) * np.cos(angle) + (ys / h - 0.5) * np.sin(angle)
    dimmest = rng.uniform(0.3, 0.55) if variant in ("gradient", "sideways") else rng.uniform(0.75, 0.95)
    light = 1 - (1 - dimmest) * (along - along.min()) / (along.max() - along.min())
    light *= 1 - rng.uniform(0, 0.25) * ((xs / w - 0.5) ** 2 + (ys / h - 0.5) ** 2)
    if variant == "whiteboard":
        # A glare spot from the room's lights.
        gx, gy, radius = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.1, 0.3) * w
        light *= 1 + rng.uniform(0.05, 0.2) * np.exp(-((xs - gx) ** 2 + (ys - gy) ** 2) / radius ** 2)
        light /= light.max()
    if variant in ("shadow", "sideways"):
        light *= shadow(w, h, box, rng)
    return enlarge(light, width, height)


def shadow(w: int, h: int, box: tuple[int, int, int, int], rng: np.random.Generator) -> np.ndarray:
    """A soft shadow (a hand or a phone) reaching in from one side, often over part of the digit."""
    mask = Image.new("L", (w, h), 0)
    left, top, side, _ = (v // COARSE for v in box)
    reach_x, reach_y = left + rng.uniform(0.2, 0.8) * side, top + rng.uniform(0.2, 0.8) * side
    side_of_frame = rng.integers(4)
    corners = {0: [(0, 0), (0, h)], 1: [(w, 0), (w, h)], 2: [(0, 0), (w, 0)], 3: [(0, h), (w, h)]}[side_of_frame]
    spread = rng.uniform(0.1, 0.3) * max(w, h)
    tip = [(reach_x - spread, reach_y - spread / 2), (reach_x + spread / 3, reach_y), (reach_x - spread / 2, reach_y + spread)]
    points = np.array(corners + tip)
    # In order around their middle, so the outline never crosses itself.
    around = np.arctan2(*(points - points.mean(axis=0)).T[::-1])
    ImageDraw.Draw(mask).polygon([tuple(p) for p in points[np.argsort(around)]], fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(rng.uniform(2, 6)))
    return 1 - rng.uniform(0.3, 0.6) * np.asarray(mask, dtype=np.float32) / 255


def ruled_lines(width: int, height: int, tilt: float, rng: np.random.Generator) -> np.ndarray:
    """Light blue ruled lines with a red margin line, turned with the page."""
    lines = Image.new("RGB", (width * 5 // 4, height * 5 // 4), (255, 255, 255))
    draw = ImageDraw.Draw(lines)
    spacing = rng.uniform(0.05, 0.09) * height
    thickness = int(rng.integers(2, 5))
    blue = tuple(int(v) for v in rng.uniform([140, 170, 200], [190, 210, 240]))
    for y in np.arange(rng.uniform(0, spacing), lines.height, spacing):
        draw.line([(0, y), (lines.width, y)], fill=blue, width=thickness)
    margin = rng.uniform(0.05, 0.2) * width
    draw.line([(margin, 0), (margin, lines.height)], fill=(225, 140, 140), width=thickness)
    lines = lines.rotate(tilt, Image.Resampling.BILINEAR, fillcolor=(255, 255, 255))
    lines = lines.crop(((lines.width - width) // 2, (lines.height - height) // 2,
                        (lines.width - width) // 2 + width, (lines.height - height) // 2 + height))
    return np.asarray(lines, dtype=np.float32) / 255


def table_around_paper(paper: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The sheet covers most of the frame; a table shows beyond one or two of its edges."""
    height, width, _ = paper.shape
    table = np.empty_like(paper)
    table[:] = rng.choice([[120, 80, 50], [60, 60, 65], [170, 150, 120]]) * rng.uniform(0.7, 1.1)
    table *= enlarge(1 + 0.1 * rng.standard_normal((height // COARSE, width // COARSE)), width, height)[..., np.newaxis]
    sheet = Image.new("L", (width, height), 0)
    inset = rng.uniform(0.02, 0.12, 4) * [width, height, width, height] * (rng.random(4) < 0.5)
    if not inset.any():
        inset[rng.integers(4)] = rng.uniform(0.03, 0.12) * width
    lean = rng.uniform(-0.04, 0.04) * width
    corners = [(inset[0] + lean, inset[1]), (width - inset[2] + lean, inset[1]),
               (width - inset[2] - lean, height - inset[3]), (inset[0] - lean, height - inset[3])]
    ImageDraw.Draw(sheet).polygon(corners, fill=255)
    on_paper = (np.asarray(sheet.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float32) / 255)[..., np.newaxis]
    return paper * on_paper + table * (1 - on_paper)
