"""Reading, verifying and fetching the MNIST IDX files."""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import write_atomically

IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801


@dataclass(frozen=True)
class IdxFile:
    name: str
    magic: int
    count: int
    sha256: str  # of the uncompressed content, so gzip settings do not matter


FILES = {
    ("train", "images"): IdxFile(
        "train-images-idx3-ubyte", IMAGE_MAGIC, 60000,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    ("train", "labels"): IdxFile(
        "train-labels-idx1-ubyte", LABEL_MAGIC, 60000,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ("test", "images"): IdxFile(
        "t10k-images-idx3-ubyte", IMAGE_MAGIC, 10000,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ("test", "labels"): IdxFile(
        "t10k-labels-idx1-ubyte", LABEL_MAGIC, 10000,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

FIX_HINT = "Run `python manage.py fetch_mnist` (or `--from DIR`) or point MNIST_DATA_DIR at a directory with the four MNIST files."


class MnistDataError(Exception):
    """A data file is missing, damaged or not the one expected; the message names it."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # uint8, (N, 28, 28)
    labels: np.ndarray  # int64, (N,)

    def head(self, n: int | None) -> "Split":
        return self if n is None else Split(self.images[:n], self.labels[:n])


def _is_gzip(raw: bytes) -> bool:
    return raw[:2] == b"\x1f\x8b"


def _decompressed(raw: bytes, source: str | Path) -> bytes:
    """The IDX content of a file's bytes, gzip-compressed or not."""
    if not _is_gzip(raw):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise MnistDataError(f"{source}: the gzip stream is truncated or corrupt ({exc}). {FIX_HINT}") from None


def _read_bytes(path: Path) -> bytes:
    return _decompressed(path.read_bytes(), path)


def parse_idx(content: bytes, source: str, expected_magic: int | None = None) -> np.ndarray:
    """Turn the bytes of one IDX file into an array, checking header and length."""
    if len(content) < 8:
        raise MnistDataError(f"{source}: only {len(content)} bytes, too short for an IDX header. {FIX_HINT}")
    magic = int.from_bytes(content[:4], "big")
    if magic >> 8 != 0x08 or not 1 <= (magic & 0xFF) <= 3:
        raise MnistDataError(f"{source}: not an unsigned-byte IDX file (magic number 0x{magic:08x}). {FIX_HINT}")
    if expected_magic is not None and magic != expected_magic:
        kind = "images" if expected_magic == IMAGE_MAGIC else "labels"
        raise MnistDataError(f"{source}: magic number 0x{magic:08x} is not that of an IDX {kind} file "
                             f"(0x{expected_magic:08x}); is the file misnamed? {FIX_HINT}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(content) < header:
        raise MnistDataError(f"{source}: truncated inside the IDX header. {FIX_HINT}")
    shape = tuple(int.from_bytes(content[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(content) != expected:
        raise MnistDataError(f"{source}: {len(content)} bytes, but its header {shape} needs {expected}; "
                             f"the file is truncated or has trailing data. {FIX_HINT}")
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(shape)


def locate(data_dir: Path, idx: IdxFile) -> Path:
    for candidate in (data_dir / f"{idx.name}.gz", data_dir / idx.name):
        if candidate.is_file():
            return candidate
    raise MnistDataError(f"{data_dir / idx.name}[.gz] is missing. {FIX_HINT}")


def verify_content(content: bytes, source: str, idx: IdxFile) -> np.ndarray:
    array = parse_idx(content, source, idx.magic)
    if len(array) != idx.count:
        raise MnistDataError(f"{source}: holds {len(array)} items, expected {idx.count}. {FIX_HINT}")
    digest = hashlib.sha256(content).hexdigest()
    if digest != idx.sha256:
        raise MnistDataError(f"{source}: SHA-256 {digest} does not match the published {idx.sha256}; "
                             f"the file is damaged or not the original MNIST. {FIX_HINT}")
    return array


def read_verified(path: Path, idx: IdxFile) -> np.ndarray:
    return verify_content(_read_bytes(path), str(path), idx)


def load_split(data_dir: str | os.PathLike, split: str) -> Split:
    """Load 'train' or 'test' from a directory holding the IDX files, gzip-compressed or raw."""
    data_dir = Path(data_dir)
    images = read_verified(locate(data_dir, FILES[split, "images"]), FILES[split, "images"])
    labels = read_verified(locate(data_dir, FILES[split, "labels"]), FILES[split, "labels"])
    if images.shape[1:] != (28, 28):
        raise MnistDataError(f"{data_dir}: {split} images are {images.shape[1:]}, not 28x28. {FIX_HINT}")
    if labels.max() > 9:
        raise MnistDataError(f"{data_dir}: {split} labels go up to {labels.max()}, not 0-9. {FIX_HINT}")
    return Split(images.copy(), labels.astype(np.int64))


def checksums() -> dict[str, str]:
    """The SHA-256 sums every loaded file was verified against, for checkpoint metadata."""
    return {idx.name: idx.sha256 for idx in FILES.values()}


def _is_valid(path: Path, idx: IdxFile) -> bool:
    try:
        read_verified(path, idx)
    except (MnistDataError, OSError):
        return False
    return True


def _download(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - fixed https mirrors
        return response.read()


def fetch(data_dir: str | os.PathLike, source_dir: str | os.PathLike | None = None,
          mirrors: tuple[str, ...] = MIRRORS, timeout: float = 30.0, log=print) -> list[Path]:
    """Fill data_dir with the four verified files, from source_dir or the public mirrors.

    Files already present and valid are kept; each new file is verified before an atomic
    rename puts it in place, so an interrupted fetch never leaves a half-written file, and a
    fetch that obtains nothing leaves no directory behind.
    """
    data_dir = Path(data_dir)
    written = []
    for idx in FILES.values():
        try:
            present = locate(data_dir, idx)
        except MnistDataError:
            present = None
        if present is not None and _is_valid(present, idx):
            log(f"{present.name}: present and valid, kept")
            continue
        payload, origin = _obtain(idx, source_dir, mirrors, timeout)
        target = data_dir / f"{idx.name}.gz"
        write_atomically(target, payload)
        if present is not None and present != target:
            present.unlink()
        log(f"{target.name}: verified and written, from {origin}")
        written.append(target)
    return written


def _obtain(idx: IdxFile, source_dir, mirrors, timeout) -> tuple[bytes, str]:
    """The gzip-compressed, verified content of one file, and where it came from."""
    if source_dir is not None:
        origin = locate(Path(source_dir), idx)
        raw = origin.read_bytes()
        content = _decompressed(raw, origin)
        verify_content(content, str(origin), idx)
        # Recompressing 47 MB of training images takes many seconds; a verified gzip file is copied as it is.
        return (raw if _is_gzip(raw) else gzip.compress(content)), str(origin)
    errors = []
    for mirror in mirrors:
        url = f"{mirror}{idx.name}.gz"
        try:
            payload = _download(url, timeout)
            verify_content(gzip.decompress(payload), url, idx)
        except Exception as exc:  # noqa: BLE001 - every mirror's failure is reported together below
            errors.append(f"{url}: {exc}")
            continue
        return payload, url
    raise MnistDataError(f"could not download {idx.name}:\n  " + "\n  ".join(errors)
                         + "\nCopy the files from a local directory instead: `fetch_mnist --from DIR`.")
