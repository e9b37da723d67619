"""A model grown from a smaller one's weights: the architecture of the same widths with the "not a digit"
output, and the weights that start it."""

from __future__ import annotations

from dataclasses import replace

import torch

from ..model import ARCHITECTURES, network


def with_not_a_digit(architecture: str) -> str:
    """The architecture of the same widths with the "not a digit" output: what a ten-output model grows into."""
    grown = replace(ARCHITECTURES[architecture], classes=11)
    return next(name for name, shape in ARCHITECTURES.items() if shape == grown)


def with_outputs_of(state_dict: dict, architecture: str, seed: int) -> dict:
    """Weights of a model with as many or fewer outputs (v1's ten digits) as a start for `architecture`
    of the same widths (v2's eleven).

    Every layer is kept; the classifier keeps its rows for the old outputs, and the new rows start
    as a fresh model's drawn from `seed`, so that a run is repeatable. Weights of other widths raise
    ValueError.
    """
    torch.manual_seed(seed)
    state = network(architecture).state_dict()
    for key, value in state_dict.items():
        grows = key.startswith("classifier.")
        if key not in state or (value.shape[1:] != state[key].shape[1:] or value.shape[0] > state[key].shape[0]
                                if grows else value.shape != state[key].shape):
            raise ValueError(f"these weights cannot start {architecture}: their {key} has the shape "
                             f"{tuple(value.shape)}, not {tuple(state[key].shape) if key in state else 'none'}")
        if grows:
            state[key][:len(value)] = value
        else:
            state[key] = value
    return state
