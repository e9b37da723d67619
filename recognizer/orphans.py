"""Drawing files without a row: what a worker killed between writing a drawing and committing its row leaves."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from django.conf import settings

from .models import Prediction

BATCH = 500


def orphan_drawings(older_than_seconds: float) -> Iterator[Path]:
    """Files under MEDIA_ROOT/drawings that no prediction names and that were last written longer ago than
    older_than_seconds: younger files may belong to a request whose row is not committed yet."""
    root = Path(settings.MEDIA_ROOT)
    cutoff = time.time() - older_than_seconds
    old_files = (path for path in (root / "drawings").rglob("*")
                 if path.is_file() and path.stat().st_mtime < cutoff)
    while batch := list(islice(old_files, BATCH)):
        names = {path.relative_to(root).as_posix(): path for path in batch}
        known = set(Prediction.objects.filter(image__in=names).values_list("image", flat=True))
        yield from (path for name, path in names.items() if name not in known)
