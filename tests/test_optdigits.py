"""UCI's optdigits files read as an evaluation set: block counts made here from MNIST test digits the
way UCI made theirs from NIST's forms, and files that are not optdigits files."""

import gzip

import numpy as np
import pytest

from mlcore.datasets.optdigits import GRID, MAX_BYTES, optdigits, read_optdigits
from mlcore.predict import Predictor

from .block_counts import block_counts, optdigits_lines


GOOD_GZIP = gzip.compress((",".join(["4"] * 64 + ["1"]) + "\n").encode() * 1000)


@pytest.fixture(scope="module")
def block_counted(mnist_test):
    """The first 200 MNIST test digits as block counts, and their labels."""
    head = mnist_test.head(200)
    return np.stack([block_counts(digit) for digit in head.images]), head.labels


@pytest.fixture
def optdigits_file(tmp_path, block_counted):
    path = tmp_path / "optdigits.tes"
    path.write_text(optdigits_lines(*block_counted))
    return path


def test_an_optdigits_file_reads_back_as_written(optdigits_file, block_counted, tmp_path):
    counts, labels = read_optdigits(optdigits_file)

    assert counts.shape == (200, GRID, GRID) and counts.max() <= 16
    assert (counts == block_counted[0]).all() and (labels == block_counted[1]).all()
    compressed = tmp_path / "digits.csv.gz"
    compressed.write_bytes(gzip.compress(optdigits_file.read_bytes()))
    assert (read_optdigits(compressed)[0] == counts).all()


def test_block_counted_digits_are_read_as_drawings(optdigits_file, block_counted, shipped_model_path):
    images, labels = optdigits(optdigits_file)

    assert images.shape == (200, 28, 28) and images.dtype == np.uint8
    assert (labels == block_counted[1]).all()
    # Normalised like a drawing: the ink's box is 20 pixels on its long side.
    for image in images:
        rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
        assert 19 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21
    # Blocks keep the shape: v4x2 reads 91 % of 2,000 such digits right (6 % "not a digit"); with the
    # blocks' rows and columns swapped it reads 8 %, upside down 33 %.
    answers, _ = Predictor.from_checkpoint(shipped_model_path).answers(images)
    assert (answers == labels).mean() >= 0.85


@pytest.mark.parametrize("content, message", [
    (b"", "holds no digits"),
    (b"\n\n", "holds no digits"),
    (b"1,2,3\n", "line 1: 3 values, not 64 counts and a label"),
    (b",".join([b"0"] * 64 + [b"7"]) + b"\n" + b",".join([b"x"] * 65) + b"\n", "line 2: not all whole numbers"),
    (b",".join([b"17"] * 64 + [b"7"]) + b"\n", "line 1: counts must be 0 to 16 and the label 0 to 9"),
    (b",".join([b"4"] * 64 + [b"10"]) + b"\n", "line 1: counts must be 0 to 16 and the label 0 to 9"),
    (b",".join([b"4"] * 64 + [b"-1"]) + b"\n", "line 1: counts must be 0 to 16 and the label 0 to 9"),
    (b"\x1f\x8b\x08\x00 truncated", "not a readable gzip file"),
    # A whole header, then a deflate stream with bytes flipped.
    (GOOD_GZIP[:20] + bytes(b ^ 0x55 for b in GOOD_GZIP[20:40]) + GOOD_GZIP[40:], "not a readable gzip file"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "line 1: "),
])
def test_a_file_that_is_not_optdigits_is_a_value_error(tmp_path, content, message):
    path = tmp_path / "optdigits.tes"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as raised:
        read_optdigits(path)
    assert str(path) in str(raised.value)


def test_oversized_and_missing_files_are_value_errors(tmp_path):
    huge = tmp_path / "huge.tes"
    huge.write_bytes((",".join(["0"] * 64 + ["1"]) + "\n").encode() * (MAX_BYTES // 130 + 1))
    with pytest.raises(ValueError, match="larger than an optdigits file"):
        read_optdigits(huge)
    # Compressed, the same bytes are small; decompressing stops at the bound all the same.
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(huge.read_bytes()))
    assert bomb.stat().st_size < MAX_BYTES // 100
    with pytest.raises(ValueError, match="larger than an optdigits file"):
        read_optdigits(bomb)
    with pytest.raises(ValueError, match="cannot read the optdigits file"):
        read_optdigits(tmp_path / "missing.tes")


def test_a_digit_with_no_ink_is_a_value_error(tmp_path):
    path = tmp_path / "blank.tes"
    path.write_text(",".join(["0"] * 64 + ["3"]) + "\n")
    with pytest.raises(ValueError, match="digit 1 has no ink"):
        optdigits(path)
