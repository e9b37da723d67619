"""The files commands read and write: a checkpoint read, or a CommandError saying why not; and where
a command writes, checked before the work, so a long run is not lost to a bad path, and never over a file
the site cannot do without."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from django.conf import settings
from django.core.management.base import CommandError

from mlcore import checkpoint

from ..models import ModelVersion


def read_checkpoint(path: Path, given_as: str) -> tuple[torch.nn.Module, dict]:
    """The model and metadata of the checkpoint at `path`, given as the option `given_as`, or a CommandError
    saying why it cannot be read."""
    try:
        return checkpoint.load(path, given_as)
    except checkpoint.CheckpointError as exc:
        raise CommandError(str(exc)) from None


def model_option_source(path: Path) -> str:
    """What named `path`, a command's --model: the setting MNIST_MODEL_PATH, its default, or the option."""
    return "MNIST_MODEL_PATH" if path == settings.MNIST_MODEL_PATH else "--model"


def kept_files() -> dict[Path, str]:
    """The files no command writes over, each with what it is: every registered version's checkpoint and model
    card, which workers may be serving, and an SQLite database."""
    kept = {}
    for version in ModelVersion.objects.only("name", "path"):
        checkpoint = version.file_path.resolve()
        kept[checkpoint] = f"the file of model version {version.name!r}"
        kept[checkpoint.with_suffix(".json")] = f"the model card of model version {version.name!r}"
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        kept[Path(database["NAME"]).resolve()] = "the site's database"
    return kept


def check_file_to_write(path: Path, option: str) -> None:
    """A CommandError unless `path` can be written as a file: not a directory, no folder on its way a file
    (missing folders are made when it is written), the nearest folder there writable, and none of the files the
    site keeps, nor one already in MODELS_DIR, a checkpoint or model card the site ships and another database may
    serve, registered there or not."""
    if path.is_dir():
        raise CommandError(f"{option} {path} is a directory; name the file to write")
    nearest = next(parent for parent in path.resolve().parents if parent.exists())
    if not nearest.is_dir():
        raise CommandError(f"{option} {path}: {nearest} is a file, not a directory")
    check_writable(nearest, path, option)
    if path.exists() and not os.access(path, os.W_OK):
        raise CommandError(f"{option} {path} cannot be written: the file is read-only")
    kept = kept_files().get(path.resolve())
    if kept is not None:
        raise CommandError(f"{path} is {kept}; choose another {option}")
    if path.exists() and path.resolve().is_relative_to(settings.MODELS_DIR.resolve()):
        raise CommandError(f"{option} {path} is a file in MODELS_DIR already, which the site ships or serves; "
                           f"choose a new file name")


def check_directory_to_write(path: Path, option: str) -> None:
    """A CommandError unless `path` can be a directory to write into: no file there or on its way, and the
    nearest folder there writable."""
    nearest = next(folder for folder in (path.resolve(), *path.resolve().parents) if folder.exists())
    if not nearest.is_dir():
        raise CommandError(f"{option} {path}: {nearest} is a file, not a directory")
    check_writable(nearest, path, option)


def check_writable(folder: Path, path: Path, option: str) -> None:
    """A CommandError unless a file can be made in `folder`, the nearest there is of `path`. Tried, not read
    from the permissions: root passes every os.access, and /proc or a read-only mount refuses even root."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CommandError(f"{option} {path} cannot be written: {folder}: {exc.strerror}") from None


def check_checkpoint_to_write(path: Path, option: str) -> None:
    """As `check_file_to_write`, for a checkpoint: named .pt, and its model card, written beside it as .json,
    checked too."""
    if path.suffix != ".pt":
        raise CommandError(f"{option} {path}: name the checkpoint with .pt; its model card is the same name with .json")
    check_file_to_write(path, option)
    check_file_to_write(path.with_suffix(".json"), option)
