"""The digit CNN: stacked 3x3 convolutions, batch norm, dropout, global average pooling.

Input: a batch of 28x28 grey images, ink bright on black, values in [0, 1] (MNIST's own
convention), shape (N, 1, 28, 28). Output: one logit per class. The capacity sits in the 3x3
convolutions, and 1x1 convolutions narrow the channels after each pooling step instead of a
large fully connected head.

Five architectures share the layout: `mnist-cnn-v1`, the original with ten digit outputs and
under 20,000 parameters; `mnist-cnn-v2`, the same widths with an eleventh output for "not a
digit" (label `labels.NOT_A_DIGIT`), which a v1 model grows into when it learns non-digits;
`mnist-cnn-v3`, a third wider (33,803 parameters) with the eleventh output; `mnist-cnn-v4`,
half as wide again (71,715 parameters); and `mnist-cnn-v5`, v4 with its second stage wider
(94,139 parameters), trained and measured but not served (`docs/model.md`, "What is not reached
yet"). `mnist-cnn-v4x2`, the served one, is two v4 networks read together, an `Ensemble`:
trained apart from different seeds, they err on different drawings, and the mean of their
logits errs less than either, at about 1.4 times the cost of a drawing, read side by side
(`fold.SideBySide`; `docs/model.md`, "Two seeds read together"); `mnist-cnn-v4x3` is three, a teacher
for one network (`train --teacher`). Each wider network has had more to learn (letters,
symbols, doodles, other hands' styles): v4 trains about 1.7 times as long per image as v3 on
two CPU cores, yet one drawing costs it only a quarter more (1.4 ms against 1.1 ms on one
thread), most of that time being spent outside the convolutions. Widths are a parameter, so
another network is one more entry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn
import torch.nn.functional as F


@dataclass(frozen=True)
class Shape:
    channels: tuple[int, int, int, int, int, int]  # the six convolutions' output channels, in order
    classes: int
    members: int = 1                               # networks of these widths whose logits are averaged


ARCHITECTURES = {
    "mnist-cnn-v1": Shape(channels=(12, 24, 12, 24, 24, 32), classes=10),
    "mnist-cnn-v2": Shape(channels=(12, 24, 12, 24, 24, 32), classes=11),
    "mnist-cnn-v3": Shape(channels=(16, 32, 16, 32, 32, 48), classes=11),
    "mnist-cnn-v4": Shape(channels=(24, 48, 24, 48, 48, 64), classes=11),
    "mnist-cnn-v5": Shape(channels=(24, 48, 32, 56, 56, 72), classes=11),
    "mnist-cnn-v4x2": Shape(channels=(24, 48, 24, 48, 48, 64), classes=11, members=2),
    "mnist-cnn-v4x3": Shape(channels=(24, 48, 24, 48, 48, 64), classes=11, members=3),
}
ARCHITECTURE = "mnist-cnn-v4"

# MNIST training-set pixel statistics; normalising inside the model keeps every caller on [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def conv_bn(in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def check_architecture(architecture: str) -> Shape:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, not {architecture!r}")
    return ARCHITECTURES[architecture]


class DigitCNN(nn.Module):
    def __init__(self, architecture: str = ARCHITECTURE, dropout: float = 0.05):
        super().__init__()
        if check_architecture(architecture).members != 1:
            raise ValueError(f"{architecture} is an ensemble of {ARCHITECTURES[architecture].members} networks; "
                             f"build it with `network`")
        self.architecture = architecture
        c1, c2, c3, c4, c5, c6 = ARCHITECTURES[architecture].channels
        self.features = nn.Sequential(
            conv_bn(1, c1, padding=0),                     # 28 -> 26
            conv_bn(c1, c2, padding=0),                    # -> 24
            nn.MaxPool2d(2),                               # -> 12
            nn.Dropout(dropout),
            conv_bn(c2, c3, kernel_size=1, padding=0),     # narrow before the second stage
            conv_bn(c3, c4, padding=0),                    # -> 10
            conv_bn(c4, c5, padding=0),                    # -> 8
            nn.Dropout(dropout),
            conv_bn(c5, c6, padding=0),                    # -> 6
        )
        self.classifier = nn.Conv2d(c6, ARCHITECTURES[architecture].classes, kernel_size=1)
        # PyTorch's CPU convolutions and max-pooling run channels-last faster: a training step about 40 %,
        # a test pass over a batch a quarter. Weights loaded into it (`load_state_dict`) keep this layout.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features((x - MNIST_MEAN) / MNIST_STD)
        return F.adaptive_avg_pool2d(self.classifier(x), 1).flatten(1)


class Ensemble(nn.Module):
    """Networks of one architecture read as one: the mean of their logits."""

    def __init__(self, architecture: str, dropout: float = 0.05):
        super().__init__()
        self.architecture = architecture
        member = member_architecture(architecture)
        self.members = nn.ModuleList(DigitCNN(member, dropout) for _ in range(check_architecture(architecture).members))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members]).mean(dim=0)


def network(architecture: str = ARCHITECTURE, dropout: float = 0.05) -> DigitCNN | Ensemble:
    """A fresh model of `architecture`: one network, or an ensemble of them."""
    if check_architecture(architecture).members == 1:
        return DigitCNN(architecture, dropout)
    return Ensemble(architecture, dropout)


def member_architecture(architecture: str) -> str:
    """The architecture of one network of an ensemble (of a single network: its own)."""
    single = replace(check_architecture(architecture), members=1)
    return next(name for name, shape in ARCHITECTURES.items() if shape == single)


def ensemble_architecture(member: str, members: int) -> str:
    """The architecture of `members` networks of the architecture `member`, read together."""
    wanted = replace(check_architecture(member), members=members)
    found = [name for name, shape in ARCHITECTURES.items() if shape == wanted]
    if not found:
        raise ValueError(f"no architecture holds {members} networks of {member}; "
                         f"ensembles: {', '.join(n for n, s in ARCHITECTURES.items() if s.members > 1) or 'none'}")
    return found[0]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
