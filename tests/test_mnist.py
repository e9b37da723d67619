"""Reading IDX files, catching damaged ones, and fetch_mnist's copy from a local directory."""

import gzip
import hashlib
import shutil
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from mlcore.mnist import FILES, IMAGE_MAGIC, LABEL_MAGIC, IdxFile, MnistDataError, load_split, parse_idx, read_verified

TEST_LABELS = FILES["test", "labels"]
TEST_IMAGES = FILES["test", "images"]


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x0800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def small_images():
    return np.arange(3 * 28 * 28, dtype=np.uint64).reshape(3, 28, 28).astype(np.uint8)


def idx_file_for(name: str, content: bytes, count: int) -> IdxFile:
    magic = int.from_bytes(content[:4], "big")
    return IdxFile(name, magic, count, hashlib.sha256(content).hexdigest())


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_reads_constructed_idx_files(tmp_path, small_images, compress):
    content = idx_bytes(small_images)
    path = tmp_path / ("images.gz" if compress else "images")
    path.write_bytes(gzip.compress(content) if compress else content)

    array = read_verified(path, idx_file_for("images", content, 3))

    assert array.shape == (3, 28, 28) and array.dtype == np.uint8
    np.testing.assert_array_equal(array, small_images)


def test_parses_labels_and_checks_the_expected_magic():
    labels = np.array([7, 2, 1, 0, 4], dtype=np.uint8)
    np.testing.assert_array_equal(parse_idx(idx_bytes(labels), "labels", LABEL_MAGIC), labels)
    with pytest.raises(MnistDataError, match="not that of an IDX images file"):
        parse_idx(idx_bytes(labels), "labels", IMAGE_MAGIC)


def test_reads_the_real_gzip_files(mnist_test):
    assert mnist_test.images.shape == (10000, 28, 28) and mnist_test.images.dtype == np.uint8
    assert mnist_test.labels.dtype == np.int64
    assert mnist_test.labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(mnist_test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_raw_and_gzip_copies_load_the_same(tmp_path, mnist_dir, mnist_test):
    for idx in (TEST_IMAGES, TEST_LABELS):
        (tmp_path / idx.name).write_bytes(gzip.decompress((mnist_dir / f"{idx.name}.gz").read_bytes()))

    raw = load_split(tmp_path, "test")

    np.testing.assert_array_equal(raw.images, mnist_test.images)
    np.testing.assert_array_equal(raw.labels, mnist_test.labels)


def test_corrupt_gzip_names_the_file(tmp_path):
    path = tmp_path / f"{TEST_LABELS.name}.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(200)))
    with pytest.raises(MnistDataError, match="truncated or corrupt") as caught:
        read_verified(path, TEST_LABELS)
    assert str(path) in str(caught.value)


def test_truncated_gzip_names_the_file(tmp_path, mnist_dir):
    payload = (mnist_dir / f"{TEST_LABELS.name}.gz").read_bytes()
    path = tmp_path / f"{TEST_LABELS.name}.gz"
    path.write_bytes(payload[:len(payload) // 2])
    with pytest.raises(MnistDataError) as caught:
        read_verified(path, TEST_LABELS)
    assert str(path) in str(caught.value)


def test_truncated_raw_file_names_the_file(tmp_path, mnist_dir):
    content = gzip.decompress((mnist_dir / f"{TEST_LABELS.name}.gz").read_bytes())
    path = tmp_path / TEST_LABELS.name
    path.write_bytes(content[:-10])
    with pytest.raises(MnistDataError, match="truncated") as caught:
        read_verified(path, TEST_LABELS)
    assert str(path) in str(caught.value)


def test_wrong_magic_names_the_file(tmp_path, mnist_dir):
    # Labels saved under the images' name: a plausible mix-up that must not pass as images.
    path = tmp_path / f"{TEST_IMAGES.name}.gz"
    shutil.copyfile(mnist_dir / f"{TEST_LABELS.name}.gz", path)
    with pytest.raises(MnistDataError, match="magic number 0x00000801") as caught:
        load_split(tmp_path, "test")
    assert str(path) in str(caught.value)


def test_garbage_header_names_the_file(tmp_path):
    path = tmp_path / TEST_LABELS.name
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(MnistDataError, match="not an unsigned-byte IDX file") as caught:
        read_verified(path, TEST_LABELS)
    assert str(path) in str(caught.value)


def damage_labels(source, target):
    """A copy of the test labels with one label changed: still a well-formed IDX file."""
    content = bytearray(gzip.decompress(source.read_bytes()))
    content[8] = 8 if content[8] != 8 else 9
    target.write_bytes(gzip.compress(bytes(content)))


def test_checksum_mismatch_is_caught(tmp_path, mnist_dir):
    path = tmp_path / f"{TEST_LABELS.name}.gz"
    damage_labels(mnist_dir / path.name, path)

    with pytest.raises(MnistDataError, match="SHA-256") as caught:
        read_verified(path, TEST_LABELS)
    assert str(path) in str(caught.value)
    # Damaged, not malformed: only the checksum tells.
    assert parse_idx(gzip.decompress(path.read_bytes()), str(path), LABEL_MAGIC)[0] in (8, 9)


def fetch_mnist(*args) -> str:
    out = StringIO()
    call_command("fetch_mnist", *map(str, args), stdout=out)
    return out.getvalue()


def test_fetch_mnist_copies_then_skips_then_repairs(tmp_path, mnist_dir):
    target = tmp_path / "mnist"

    first = fetch_mnist("--from", mnist_dir, "--data-dir", target)
    assert first.count("verified and written") == 4
    assert sorted(p.name for p in target.iterdir()) == sorted(f"{idx.name}.gz" for idx in FILES.values())
    assert len(load_split(target, "train").labels) == 60000
    assert len(load_split(target, "test").labels) == 10000

    stamps = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
    second = fetch_mnist("--from", mnist_dir, "--data-dir", target)
    assert second.count("present and valid, kept") == 4 and "written, from" not in second
    assert {p.name: p.stat().st_mtime_ns for p in target.iterdir()} == stamps

    damaged = target / f"{TEST_LABELS.name}.gz"
    damage_labels(mnist_dir / damaged.name, damaged)
    third = fetch_mnist("--from", mnist_dir, "--data-dir", target)
    assert third.count("present and valid, kept") == 3
    assert f"{damaged.name}: verified and written" in third
    read_verified(damaged, TEST_LABELS)
    assert not list(target.glob(".*")), "no temporary files are left behind"


def test_fetch_mnist_replaces_a_raw_damaged_file_with_a_verified_gzip(tmp_path, mnist_dir):
    target = tmp_path / "mnist"
    fetch_mnist("--from", mnist_dir, "--data-dir", target)
    (target / f"{TEST_LABELS.name}.gz").unlink()
    (target / TEST_LABELS.name).write_bytes(b"\x00\x00\x08\x01")

    fetch_mnist("--from", mnist_dir, "--data-dir", target)

    assert not (target / TEST_LABELS.name).exists()
    read_verified(target / f"{TEST_LABELS.name}.gz", TEST_LABELS)


def test_fetch_mnist_missing_source_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such directory"):
        fetch_mnist("--from", tmp_path / "absent", "--data-dir", tmp_path / "mnist")


def test_fetch_mnist_source_without_the_files_is_a_command_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="train-images-idx3-ubyte") as caught:
        fetch_mnist("--from", tmp_path / "empty", "--data-dir", tmp_path / "new" / "mnist")
    assert "is missing" in str(caught.value)
    assert not (tmp_path / "new").exists(), "a fetch that obtained nothing leaves no directory behind"


def test_fetch_mnist_rejects_a_damaged_source(tmp_path, mnist_dir):
    source = tmp_path / "source"
    source.mkdir()
    for idx in FILES.values():
        shutil.copyfile(mnist_dir / f"{idx.name}.gz", source / f"{idx.name}.gz")
    damage_labels(mnist_dir / f"{TEST_LABELS.name}.gz", source / f"{TEST_LABELS.name}.gz")

    with pytest.raises(CommandError, match="SHA-256"):
        fetch_mnist("--from", source, "--data-dir", tmp_path / "mnist")
    assert not (tmp_path / "mnist" / f"{TEST_LABELS.name}.gz").exists()
