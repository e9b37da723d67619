"""Writing files so that a crash or a concurrent reader never sees half of one, and what reading a damaged one
raises."""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

# What numpy raises reading an .npz cut short or changed inside: its zip's structure, or its compressed data.
UNREADABLE_NPZ = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


def write_atomically(path: str | os.PathLike, payload: bytes | Iterable[bytes]) -> Path:
    """Write `payload` (bytes, or chunks of them as they come) to a file beside `path`, then put it there."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in [payload] if isinstance(payload, bytes) else payload:
                handle.write(chunk)
            # mkstemp makes the file private; these files are for other processes (web workers) to read.
            os.fchmod(handle.fileno(), 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
