"""The digit CNN: stacked 3x3 convolutions, batch norm, dropout, global average pooling.

Input: a batch of 28x28 grey images, ink bright on black, values in [0, 1] (MNIST's own
convention), shape (N, 1, 28, 28). Output: ten logits per image. Under 20,000 parameters:
the capacity sits in the 3x3 convolutions, and 1x1 convolutions narrow the channels after
each pooling step instead of a large fully connected head.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

ARCHITECTURE = "mnist-cnn-v1"

# MNIST training-set pixel statistics; normalising inside the model keeps every caller on [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def conv_bn(in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DigitCNN(nn.Module):
    def __init__(self, dropout: float = 0.05):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(1, 12, padding=0),                     # 28 -> 26
            conv_bn(12, 24, padding=0),                    # -> 24
            nn.MaxPool2d(2),                               # -> 12
            nn.Dropout(dropout),
            conv_bn(24, 12, kernel_size=1, padding=0),     # narrow before the second stage
            conv_bn(12, 24, padding=0),                    # -> 10
            conv_bn(24, 24, padding=0),                    # -> 8
            nn.Dropout(dropout),
            conv_bn(24, 32, padding=0),                    # -> 6
        )
        self.classifier = nn.Conv2d(32, 10, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features((x - MNIST_MEAN) / MNIST_STD)
        return F.adaptive_avg_pool2d(self.classifier(x), 1).flatten(1)


def conv_weights(model: nn.Module) -> list[torch.Tensor]:
    """The convolution kernels: what an L1 penalty acts on."""
    return [module.weight for module in model.modules() if isinstance(module, nn.Conv2d)]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_input(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28) or float [0, 1] arrays as the model's (N, 1, 28, 28) float input."""
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    if tensor.dtype == torch.uint8:
        return tensor.float().div_(255).unsqueeze(1)
    return tensor.float().unsqueeze(1)
