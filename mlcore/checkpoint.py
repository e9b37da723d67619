"""Checkpoints that carry their own metadata, and validation of what is loaded."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
from pathlib import Path

import torch
from torch import nn

from .files import write_atomically
from .model import ARCHITECTURES, count_parameters, network
from .validation import is_finite_number, is_integer

FORMAT_VERSION = 1

REQUIRED_METADATA = (
    "architecture", "params", "variant", "hyperparameters", "epochs", "seed",
    "test_accuracy", "test_loss", "data_checksums", "training_seconds",
    "torch_version", "created_at", "history",
)


# What the site reads of the metadata, and what each must be; a checkpoint made by hand may hold anything.
METADATA_TYPES = {
    "architecture": lambda value: isinstance(value, str),
    "params": is_integer,
    "test_accuracy": is_finite_number,
    "answered_test_accuracy": is_finite_number,
    "calibration": lambda value: isinstance(value, dict) and all(
        is_finite_number(value[key]) for key in ("temperature", "not_a_digit_threshold") if key in value),
}


def mnist_accuracy(metadata: dict) -> float:
    """The MNIST test accuracy of what the model answers, "not a digit" counting as wrong.

    Checkpoints saved before that was recorded give `test_accuracy`, the likeliest of all outputs."""
    return float(metadata.get("answered_test_accuracy", metadata["test_accuracy"]))


class CheckpointError(Exception):
    """A checkpoint is missing, corrupt, or not of this project's architecture."""


def save(path: str | os.PathLike, model: nn.Module, metadata: dict) -> Path:
    """Write weights and metadata atomically, and the metadata again as a JSON model card beside them."""
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ValueError(f"checkpoint metadata lacks {', '.join(missing)}")
    path = Path(path)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT_VERSION, "metadata": metadata, "state_dict": model.state_dict()}, buffer)
    write_atomically(path, buffer.getvalue())
    write_atomically(path.with_suffix(".json"), json.dumps(metadata, indent=2, sort_keys=True).encode() + b"\n")
    return path


def load(path: str | os.PathLike, given_as: str = "") -> tuple[nn.Module, dict]:
    """Load a checkpoint into a fresh model in eval mode; every failure is a CheckpointError. `given_as` is what
    named the path (a setting, a command's option), said where no file is there."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"model file {path} is a directory, not a checkpoint")
    if path.exists() and not path.is_file():
        raise CheckpointError(f"model file {path} is not a regular file, not a checkpoint")
    if not path.is_file():
        raise CheckpointError(f"model file {path}{f' (given as {given_as})' if given_as else ''} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message advises loading it unrestricted, which would run whatever code it holds.
        raise CheckpointError(f"{path} is not a checkpoint: it holds Python objects other than weights and "
                              f"their card, and is not loaded") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many types for damaged files
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(exc).__name__}: {reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not a checkpoint of format {FORMAT_VERSION}")
    metadata = payload.get("metadata")
    if not isinstance(metadata, dict) or any(key not in metadata for key in REQUIRED_METADATA):
        raise CheckpointError(f"{path} has incomplete metadata")
    wrong = [key for key, fits in METADATA_TYPES.items() if key in metadata and not fits(metadata[key])]
    if wrong:
        raise CheckpointError(f"{path} has metadata of the wrong kind: {', '.join(wrong)}")
    calibration = metadata.get("calibration", {})
    temperature = calibration.get("temperature", 1.0)
    threshold = calibration.get("not_a_digit_threshold", 1.0)
    if not (temperature > 0 and 0 <= threshold <= 1):
        # Loaded, it made every confidence NaN: each prediction a 500, while /healthz said ok.
        raise CheckpointError(f"{path} has a calibration no answer can be read with (temperature {temperature}, "
                              f"not-a-digit threshold {threshold}): the temperature must be above 0 and the "
                              f"threshold a probability, 0 to 1")
    if metadata["architecture"] not in ARCHITECTURES:
        raise CheckpointError(f"{path} holds architecture {metadata['architecture']!r}, "
                              f"this code runs {', '.join(ARCHITECTURES)}")
    model = network(metadata["architecture"])
    differences = misfit(model, payload.get("state_dict"))
    if differences:
        # Of another architecture, every layer differs: torch's message was a line each.
        raise CheckpointError(f"{path}: weights do not fit {metadata['architecture']}, the architecture its "
                              f"metadata names: {len(differences)} of their tensors differ (the first: "
                              f"{differences[0]})")
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit {metadata['architecture']}: {exc}") from None
    if count_parameters(model) != metadata["params"]:
        raise CheckpointError(f"{path}: metadata says {metadata['params']} parameters, the model has "
                              f"{count_parameters(model)}")
    if not all(torch.isfinite(tensor).all() for tensor in model.state_dict().values() if tensor.is_floating_point()):
        raise CheckpointError(f"{path}: some of its weights are not finite numbers (NaN or infinite)")
    return model.eval(), metadata


def misfit(model: nn.Module, state_dict) -> list[str]:
    """How `state_dict` differs from `model`'s, a tensor a line: missing, not one of the model's, or of another
    shape."""
    if not isinstance(state_dict, dict):
        return []  # load_state_dict says what it is
    expected = model.state_dict()
    reshaped = [key for key, value in state_dict.items()
                if key in expected and getattr(value, "shape", None) != expected[key].shape]
    return ([f"{key} is missing" for key in expected if key not in state_dict]
            + [f"{key} is not one of its tensors" for key in state_dict if key not in expected]
            + [f"{key} is {tuple(getattr(state_dict[key], 'shape', ()))}, not {tuple(expected[key].shape)}"
               for key in reshaped])


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
