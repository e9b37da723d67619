"""Training-time augmentation written with torch: one random affine warp per image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AffineRanges:
    rotation_degrees: float = 10.0
    scale: tuple[float, float] = (0.9, 1.1)
    shift_pixels: float = 2.0
    shear_degrees: float = 10.0


def random_affine(images: torch.Tensor, generator: torch.Generator,
                  ranges: AffineRanges = AffineRanges()) -> torch.Tensor:
    """Rotate, scale, shear and shift each image of an (N, 1, H, W) batch by its own random amount."""
    n, _, height, width = images.shape

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    angle = torch.deg2rad(uniform(-ranges.rotation_degrees, ranges.rotation_degrees))
    shear = math.tan(math.radians(ranges.shear_degrees)) * uniform(-1.0, 1.0)
    scale = uniform(*ranges.scale)
    # affine_grid works in [-1, 1] coordinates, where one pixel is 2 / size.
    shift_x = uniform(-ranges.shift_pixels, ranges.shift_pixels) * 2 / width
    shift_y = uniform(-ranges.shift_pixels, ranges.shift_pixels) * 2 / height

    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([
        torch.stack([cos, -sin + shear * cos, shift_x], dim=1),
        torch.stack([sin, cos + shear * sin, shift_y], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
