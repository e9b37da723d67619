"""A model of `mlcore.model` rewritten for reading only: batch norm folded into the convolutions, weights
held channels-last, an ensemble's networks read side by side. Each reads as the model it was made from
(to float rounding), in less time; none is trained or saved.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.fx.experimental.optimization import fuse
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .model import MNIST_MEAN, MNIST_STD, Ensemble


def folded(model: nn.Module) -> nn.Module:
    """A copy of the model for reading only: batch norm folded into the convolutions once (a traced
    torch.fx graph with fewer layers, a third faster for one image at a time), its weights held
    channels-last (PyTorch's max-pooling then takes a tenth of the time: one image about an eighth
    faster again, a batch of 256 nearly twice as fast). An ensemble's copy also reads a few images
    at once through its networks side by side (`FoldedEnsemble`)."""
    if isinstance(model, Ensemble):
        return FoldedEnsemble(model.eval())
    return fuse(model.eval()).to(memory_format=torch.channels_last)


def grouped_convolution(convolutions: list[nn.Conv2d], shared_input: bool) -> nn.Conv2d:
    """One convolution doing the work of several of one shape, each on its own group of the input
    channels, or all on the same input where `shared_input`; their outputs follow one another."""
    first = convolutions[0]
    groups = 1 if shared_input else len(convolutions)
    merged = nn.Conv2d(first.in_channels * groups, first.out_channels * len(convolutions), first.kernel_size,
                       padding=first.padding, groups=groups)
    with torch.no_grad():
        merged.weight.copy_(torch.cat([convolution.weight for convolution in convolutions]))
        merged.bias.copy_(torch.cat([convolution.bias for convolution in convolutions]))
    return merged


class SideBySide(nn.Module):
    """An ensemble's networks as one network for reading: layer by layer, each network's convolution
    (batch norm folded in) is one group of a grouped convolution. Held channels-last, one drawing
    passes through it in three quarters of the time it takes through the networks one after the
    other (oneDNN runs a grouped convolution as one larger piece of work).

    Two steps of each network are linear and fold away too, for a twelfth less time again: the input's
    normalisation into the first convolution, which pads nothing, so no border reads it; and the
    classifier's 1x1 convolution, the average over the grid and the mean over the networks, which
    become one average over the grid and one linear layer holding each network's classifier side
    by side, divided by their number."""

    def __init__(self, ensemble: Ensemble):
        super().__init__()
        networks = list(ensemble.eval().members)
        layers = []
        for layer in zip(*(member.features for member in networks)):
            if isinstance(layer[0], nn.Sequential):
                convolutions = [fuse_conv_bn_eval(convolution, batch_norm) for convolution, batch_norm, _ in layer]
                layers += [grouped_convolution(convolutions, shared_input=not layers), nn.ReLU(inplace=True)]
            elif isinstance(layer[0], nn.MaxPool2d):
                layers.append(layer[0])
            elif not isinstance(layer[0], nn.Dropout):
                raise TypeError(f"no side-by-side form for {type(layer[0]).__name__}")
        first = layers[0]
        if first.padding != (0, 0):
            raise ValueError("the input's normalisation folds only into a first convolution without padding")
        with torch.no_grad():
            first.bias -= MNIST_MEAN / MNIST_STD * first.weight.sum(dim=(1, 2, 3))
            first.weight /= MNIST_STD
        self.features = nn.Sequential(*layers)
        classifiers = [member.classifier for member in networks]
        self.classifier = nn.Linear(classifiers[0].in_channels * len(networks), classifiers[0].out_channels)
        with torch.no_grad():
            self.classifier.weight.copy_(torch.cat([c.weight.flatten(1) for c in classifiers], dim=1) / len(networks))
            self.classifier.bias.copy_(torch.stack([c.bias for c in classifiers]).mean(dim=0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean(dim=(2, 3)))


# Up to this many images at once the networks read side by side; beyond, oneDNN's grouped
# convolutions lose their lead (16 images take 0.89 of the time in turn, 10,000 in batches of 256 1.2 times).
SIDE_BY_SIDE_MAX_IMAGES = 16


class FoldedEnsemble(nn.Module):
    """An ensemble folded for reading: a drawing, or a photo's few readings, through its networks side
    by side; a batch through each network's folded graph in turn."""

    def __init__(self, ensemble: Ensemble):
        super().__init__()
        self.side_by_side = SideBySide(ensemble).to(memory_format=torch.channels_last)
        self.one_by_one = fuse(ensemble).to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x) <= SIDE_BY_SIDE_MAX_IMAGES:
            return self.side_by_side(x)
        return self.one_by_one(x)
