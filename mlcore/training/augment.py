"""Training-time augmentation written with torch: affine warps, elastic distortion, stroke width,
coarse grids.

Every random number is drawn on the CPU from the caller's generator and then moved to the images'
device, so a seed warps a batch alike on any device.
"""

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


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator) * (high - low) + low


def _random(generator: torch.Generator, images: torch.Tensor, *shape: int) -> torch.Tensor:
    """Uniform [0, 1) numbers of `shape` from the generator (CPU), on the images' device."""
    return torch.rand(*shape, generator=generator).to(images.device)


def random_affine(images: torch.Tensor, generator: torch.Generator,
                  ranges: AffineRanges = AffineRanges()) -> torch.Tensor:
    """Rotate, scale, shear and shift each image of an (N, 1, H, W) batch by its own random amount."""
    n, _, height, width = images.shape
    angle = torch.deg2rad(_uniform(n, -ranges.rotation_degrees, ranges.rotation_degrees, generator))
    shear = math.tan(math.radians(ranges.shear_degrees)) * _uniform(n, -1.0, 1.0, generator)
    scale = _uniform(n, *ranges.scale, generator)
    # affine_grid works in [-1, 1] coordinates, where one pixel is 2 / size.
    shift_x = _uniform(n, -ranges.shift_pixels, ranges.shift_pixels, generator) * 2 / width
    shift_y = _uniform(n, -ranges.shift_pixels, ranges.shift_pixels, generator) * 2 / height

    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([
        torch.stack([cos, -sin + shear * cos, shift_x], dim=1),
        torch.stack([sin, cos + shear * sin, shift_y], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def elastic(images: torch.Tensor, generator: torch.Generator, alpha_pixels: float = 1.5,
            smoothness: int = 7) -> torch.Tensor:
    """Simard-style elastic distortion: a random displacement field, smoothed, of about alpha pixels."""
    n, _, height, width = images.shape
    noise = _random(generator, images, n, 2, height, width) * 2 - 1
    kernel = torch.ones(2, 1, smoothness, smoothness, device=images.device) / smoothness ** 2
    # Box-blurred twice: close to a Gaussian, and cheap.
    field = F.conv2d(F.conv2d(noise, kernel, padding=smoothness // 2, groups=2),
                     kernel, padding=smoothness // 2, groups=2)
    field = field / field.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6) * alpha_pixels
    base = F.affine_grid(torch.eye(2, 3, device=images.device).expand(n, 2, 3), list(images.shape),
                         align_corners=False)
    offset = torch.stack([field[:, 0] * 2 / width, field[:, 1] * 2 / height], dim=-1)
    return F.grid_sample(images, base + offset, mode="bilinear", padding_mode="zeros", align_corners=False)


def stroke_width(images: torch.Tensor, generator: torch.Generator, share: float = 0.5) -> torch.Tensor:
    """Thicken (3x3 dilation) or thin (3x3 erosion) a random share of the images, half each way.

    Canvas strokes are uniform and often thicker than MNIST's pen; thin pens occur too.
    """
    choice = _random(generator, images, len(images))
    mask_thick = (choice < share / 2).view(-1, 1, 1, 1)
    mask_thin = ((choice >= share / 2) & (choice < share)).view(-1, 1, 1, 1)
    return torch.where(mask_thick, thicker(images), torch.where(mask_thin, thinner(images), images))


def thicker(images: torch.Tensor) -> torch.Tensor:
    """An (N, 1, H, W) batch with its strokes thickened: a 3x3 dilation."""
    return F.max_pool2d(images, 3, stride=1, padding=1)


def thinner(images: torch.Tensor) -> torch.Tensor:
    """An (N, 1, H, W) batch with its strokes thinned: a 3x3 erosion, blended half and half with the images so
    that thin strokes fade instead of vanishing."""
    return 0.5 * images + 0.5 * -F.max_pool2d(-images, 3, stride=1, padding=1)


def coarse(images: torch.Tensor, generator: torch.Generator, share: float = 0.25,
           sides: tuple[int, int] = (7, 14)) -> torch.Tensor:
    """Redraw a random share of the images from a coarse grid (one random side in `sides` a batch),
    enlarged smoothly back to their size.

    Digits sent small (a thumbnail, a scan counted in blocks) or drawn with a fat pen lose the
    detail that tells a closed 4 from a 6 and a 9 from a 3, which MNIST's 20-pixel digits keep.
    """
    chosen = _random(generator, images, len(images)) < share
    if not chosen.any():
        return images
    side = int(torch.randint(sides[0], sides[1] + 1, (1,), generator=generator))
    small = F.adaptive_avg_pool2d(images[chosen], side)
    enlarged = F.interpolate(small, size=images.shape[-2:], mode="bilinear", align_corners=False)
    enlarged = enlarged / enlarged.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
    out = images.clone()
    out[chosen] = enlarged
    return out
