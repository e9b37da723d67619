"""The output layer tests alter, in one network or in each network of an ensemble."""

from torch import nn

from mlcore.model import DigitCNN


def output_layers(model: nn.Module) -> list[nn.Conv2d]:
    """Each network's classifier: altering all of them alike alters an ensemble's mean logits alike."""
    return [network.classifier for network in model.modules() if isinstance(network, DigitCNN)]
