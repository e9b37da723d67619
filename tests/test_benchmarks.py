"""The benchmarks the README runs stay runnable: a stray edit once left one that did not even parse, and no
test read it."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = sorted(path.stem for path in (ROOT / "benchmarks").glob("*.py")
                    if "__main__" in path.read_text())


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_starts_and_says_how_to_run_it(name):
    run = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "usage:" in run.stdout, run.stderr


def test_the_photo_benchmark_reads_mnist_where_the_settings_say(monkeypatch, capsys, mnist_dir):
    """Run as the README writes it, with MNIST_DATA_DIR unset, it stopped at a KeyError: the site's commands
    and benchmarks.load read the data directory's default (data/mnist) where the variable is not given."""
    from benchmarks import photos

    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setattr(sys, "argv", ["photos", "--count", "2"])
    photos.main()
    out = capsys.readouterr().out
    assert out.startswith("2 photos;") and "nan" not in out
