"""Where commands write their files: checked before the work, so a long run is not lost to a bad path."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from ..models import ModelVersion


def check_file_to_write(path: Path, option: str) -> None:
    """A CommandError unless `path` can be written as a file: not a directory, and no folder on its way a file
    (missing folders are made when it is written)."""
    if path.is_dir():
        raise CommandError(f"{option} {path} is a directory; name the file to write")
    nearest = next(parent for parent in path.resolve().parents if parent.exists())
    if not nearest.is_dir():
        raise CommandError(f"{option} {path}: {nearest} is a file, not a directory")


def check_checkpoint_to_write(path: Path, option: str) -> None:
    """As `check_file_to_write`, for a checkpoint: named .pt (its model card is written beside it as .json),
    and never a registered version's file, which workers may be serving."""
    if path.suffix != ".pt":
        raise CommandError(f"{option} {path}: name the checkpoint with .pt; its model card is the same name with .json")
    check_file_to_write(path, option)
    resolved = path.resolve()
    for version in ModelVersion.objects.only("name", "path"):
        if version.file_path.resolve() == resolved:
            raise CommandError(f"{path} is the file of model version {version.name!r}; choose another {option}")
