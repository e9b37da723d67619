"""Honest confidence: temperature scaling, expected calibration error, and the not-a-digit threshold.

All three are fitted on held-out data (a slice of the MNIST training set the model never saw,
its canvas re-drawings and generated non-digits), never on the MNIST test set.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .labels import NOT_A_DIGIT

ECE_BINS = 15
# The share of each held-out set of real digits the threshold may answer "not a digit"; the goal
# is 0.5 % on unseen digits of every kind, so the threshold is chosen with room to spare.
MAX_FALSE_NOT_A_DIGIT = 0.003


def digit_log_probabilities(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Log-probabilities over the ten digits alone: renormalised, whatever the "not a digit" output says."""
    return F.log_softmax(logits[:, :NOT_A_DIGIT] / temperature, dim=1)


def not_a_digit_probability(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Probability of the eleventh output, or zeros for a ten-output model."""
    if logits.shape[1] <= NOT_A_DIGIT:
        return torch.zeros(len(logits))
    return torch.softmax(logits / temperature, dim=1)[:, NOT_A_DIGIT]


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature minimising the negative log-likelihood of the digit labels (labels 0-9)."""
    log_temperature = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_temperature], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")
    # A plain copy: logits computed under inference mode cannot take part in autograd.
    logits = logits.detach().clone()

    def closure():
        optimizer.zero_grad()
        loss = F.nll_loss(digit_log_probabilities(logits, log_temperature.exp()), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_temperature.exp().item())


def negative_log_likelihood(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> float:
    return F.nll_loss(digit_log_probabilities(logits, temperature), labels).item()


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Sum over equal-width confidence bins (`reliability`) of |accuracy - mean confidence|, weighted by the
    bin's share."""
    if not len(confidences):
        raise ValueError("the expected calibration error of no predictions is undefined")
    return float(sum(row["count"] / len(confidences) * abs(row["accuracy"] - row["confidence"])
                     for row in reliability(confidences, correct, bins) if row["count"]))


def reliability(confidences: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Per equal-width bin: its range, how many predictions, their mean confidence and accuracy."""
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    # Bins (0, 1/b], (1/b, 2/b], ...; a confidence of exactly 0 joins the first.
    which = np.clip(np.ceil(confidences * bins).astype(int) - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        members = which == b
        rows.append({"low": b / bins, "high": (b + 1) / bins, "count": int(members.sum()),
                     "confidence": float(confidences[members].mean()) if members.any() else None,
                     "accuracy": float(correct[members].mean()) if members.any() else None})
    return rows


def choose_threshold(digit_scores: np.ndarray, max_false_not_a_digit: float = MAX_FALSE_NOT_A_DIGIT) -> float:
    """The lowest not-a-digit probability threshold that answers at most `max_false_not_a_digit` of real
    digits "not a digit".

    The lowest such threshold catches the most non-digits; it never goes below 0.5, where the
    eleventh output outweighs all ten digits together. It lies midway between the highest digit
    score it lets through and the lowest it stops, so the served model's folded batch norm, a
    rounding error apart, answers those digits alike.
    """
    digit_scores = np.sort(np.asarray(digit_scores, dtype=np.float64))
    allowed = int(np.floor(max_false_not_a_digit * len(digit_scores)))
    if allowed >= len(digit_scores):
        return 0.5
    # Above the (allowed + 1)-th highest digit score, at most `allowed` digits remain at or over it.
    highest_passed = digit_scores[len(digit_scores) - allowed - 1]
    lowest_stopped = digit_scores[len(digit_scores) - allowed] if allowed else min(1.0, highest_passed + 2e-6)
    return float(max(0.5, (highest_passed + lowest_stopped) / 2))
