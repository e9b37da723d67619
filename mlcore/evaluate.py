"""Metrics, confusion matrix, misclassified gallery and latency, and the report files."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .data import Split
from .model import model_input


@torch.inference_mode()
def logits_of(model: torch.nn.Module, images: np.ndarray, batch_size: int = 1000) -> torch.Tensor:
    model.eval()
    return torch.cat([model(model_input(images[i:i + batch_size])) for i in range(0, len(images), batch_size)])


def evaluate_split(model: torch.nn.Module, split: Split) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the model on a split."""
    logits = logits_of(model, split.images)
    labels = torch.from_numpy(split.labels)
    return F.cross_entropy(logits, labels).item(), (logits.argmax(1) == labels).float().mean().item()
