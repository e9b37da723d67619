"""The training-time augmentations: each changes what it says, on the share it says, reproducibly."""

import numpy as np
import pytest
import torch

from mlcore.training.augment import coarse


def total_variation(images: torch.Tensor) -> torch.Tensor:
    return (images.diff(dim=-1).abs().sum(dim=(1, 2, 3)) + images.diff(dim=-2).abs().sum(dim=(1, 2, 3)))


@pytest.fixture(scope="module")
def digits(mnist_test) -> torch.Tensor:
    return torch.from_numpy(mnist_test.images[:400].astype(np.float32) / 255).unsqueeze(1)


def test_coarse_redraws_the_share_it_says_and_leaves_the_rest(digits):
    redrawn = coarse(digits, torch.Generator().manual_seed(5))
    changed = (redrawn != digits).flatten(1).any(dim=1)

    # A quarter of 400, give or take what chance allows.
    assert 70 <= int(changed.sum()) <= 130
    assert torch.equal(redrawn[~changed], digits[~changed])
    assert torch.equal(redrawn, coarse(digits, torch.Generator().manual_seed(5)))
    assert torch.equal(coarse(digits, torch.Generator().manual_seed(5), share=0.0), digits)


def test_coarse_keeps_the_digit_but_not_its_detail(digits):
    redrawn = coarse(digits, torch.Generator().manual_seed(6), share=1.0, sides=(8, 8))
    rows = torch.arange(28, dtype=torch.float32).view(1, 1, 28, 1)

    assert redrawn.shape == digits.shape
    # Every image's brightest ink is full ink again, as MNIST's is.
    assert torch.allclose(redrawn.amax(dim=(1, 2, 3)), torch.ones(len(digits)))
    # Smoother: a coarse grid enlarged smoothly has less edge than a pen's stroke (a faint thin digit,
    # brightened back to full ink, may gain some) ...
    smoothing = total_variation(redrawn) / total_variation(digits)
    assert smoothing.median() < 0.8 and (smoothing < 1).float().mean() > 0.95
    # ... yet the ink stays where it was: its centre moves by well under two pixels.
    centre = lambda images: (images * rows).sum(dim=(1, 2, 3)) / images.sum(dim=(1, 2, 3))
    assert (centre(redrawn) - centre(digits)).abs().max() < 1.5
