"""The training-time augmentations: each changes what it says, on the share it says, reproducibly."""

import numpy as np
import pytest
import torch

from mlcore.training.augment import AffineRanges, coarse, elastic, random_affine, stroke_width


ROWS = torch.arange(28, dtype=torch.float32).view(1, 1, 28, 1)
COLUMNS = ROWS.view(1, 1, 1, 28)


def centre(images: torch.Tensor, axis: torch.Tensor = ROWS) -> torch.Tensor:
    """Each image's centre of ink along `axis`, in pixels."""
    return (images * axis).sum(dim=(1, 2, 3)) / images.sum(dim=(1, 2, 3))


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

    assert redrawn.shape == digits.shape
    # Every image's brightest ink is full ink again, as MNIST's is.
    assert torch.allclose(redrawn.amax(dim=(1, 2, 3)), torch.ones(len(digits)))
    # Smoother: a coarse grid enlarged smoothly has less edge than a pen's stroke (a faint thin digit,
    # brightened back to full ink, may gain some) ...
    smoothing = total_variation(redrawn) / total_variation(digits)
    assert smoothing.median() < 0.8 and (smoothing < 1).float().mean() > 0.95
    # ... yet the ink stays where it was: its centre moves by well under two pixels.
    assert (centre(redrawn) - centre(digits)).abs().max() < 1.5


def test_random_affine_moves_each_digit_by_its_own_amount_within_its_ranges(digits):
    moved = random_affine(digits, torch.Generator().manual_seed(7))
    assert torch.equal(moved, random_affine(digits, torch.Generator().manual_seed(7)))
    assert not torch.equal(moved, random_affine(digits, torch.Generator().manual_seed(8)))
    # Every digit moved, by its own amount; none further than its shift and a scale's pull allow, and its
    # ink is kept (the digit is not pushed out of the frame).
    shift = (centre(moved, COLUMNS) - centre(digits, COLUMNS)).abs()
    assert (moved != digits).flatten(1).any(dim=1).all() and shift.std() > 0.2
    assert shift.max() < AffineRanges().shift_pixels + 2
    assert ((moved.sum(dim=(1, 2, 3)) / digits.sum(dim=(1, 2, 3))) > 0.6).all()
    # No movement asked, none made (bilinear sampling at the pixels' own centres).
    still = AffineRanges(rotation_degrees=0.0, shear_degrees=0.0, scale=(1.0, 1.0), shift_pixels=0.0)
    assert torch.allclose(random_affine(digits, torch.Generator().manual_seed(7), still), digits, atol=1e-5)


def test_elastic_bends_each_digit_by_about_the_pixels_it_says(digits):
    bent = elastic(digits, torch.Generator().manual_seed(9), alpha_pixels=1.5)
    assert torch.equal(bent, elastic(digits, torch.Generator().manual_seed(9), alpha_pixels=1.5))
    assert (bent != digits).flatten(1).any(dim=1).all()
    # A local bend, not a move: the ink stays where it was, about as much of it.
    assert (centre(bent) - centre(digits)).abs().max() < 1.5
    ink_change = ((bent.sum(dim=(1, 2, 3)) / digits.sum(dim=(1, 2, 3))) - 1).abs()
    assert ink_change.median() < 0.1 and ink_change.max() < 0.4
    # More bending asked, more change made.
    change = lambda alpha: (elastic(digits, torch.Generator().manual_seed(9), alpha_pixels=alpha) - digits).abs().mean()
    assert change(0.5) < change(1.5) < change(3.0)


def test_stroke_width_thickens_a_quarter_and_thins_a_quarter(digits):
    changed = stroke_width(digits, torch.Generator().manual_seed(10))
    assert torch.equal(changed, stroke_width(digits, torch.Generator().manual_seed(10)))
    ink, ink_after = digits.sum(dim=(1, 2, 3)), changed.sum(dim=(1, 2, 3))
    thicker, thinner = ink_after > ink * 1.05, ink_after < ink * 0.95
    same = (changed == digits).flatten(1).all(dim=1)
    # A quarter each way of 400 and half left alone, give or take what chance allows.
    assert 70 <= int(thicker.sum()) <= 130 and 70 <= int(thinner.sum()) <= 130 and 150 <= int(same.sum()) <= 250
    assert int(thicker.sum() + thinner.sum() + same.sum()) == len(digits)
    # Thinned, a stroke fades rather than vanishing.
    assert (ink_after[thinner] > 0.3 * ink[thinner]).all()
    assert torch.equal(stroke_width(digits, torch.Generator().manual_seed(10), share=0.0), digits)
