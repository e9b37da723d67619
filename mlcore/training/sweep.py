"""Train several candidate models of the served recipe at once, on a machine without Django: an
accelerator lent for a few minutes.

    python -m mlcore.training.sweep --data-dir ../shared/mnist --cache-dir reports/cache --fonts fonts-train \
        --out reports/sweep --device cuda --candidate mnist-cnn-v4:1 --candidate mnist-cnn-v4:2

Each candidate is an architecture and a seed, trained in its own process by the three steps of the
served recipe (`recipe.SERVED_RECIPE`, which the README's "Training the served model" runs with
`manage.py train`): a long first step with every augmentation, then three epochs at 0.02, then three
at 0.02 on 40,000 MNIST images so that non-digits weigh more. Each step is saved as it ends, calibrated
on the held-out sets, so a deadline still leaves the steps that were done. With --first-epochs auto the
first step is as long as the deadline allows, measured by a short probe run by every candidate at
once, as they will train.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .. import checkpoint
from ..datasets.fonts import NOT_DIGIT_CHARACTERS, TRAINING_SIZES, font_files
from ..files import write_atomically
from ..mnist import MnistDataError, load_split
from ..model import ARCHITECTURES
from .recipe import HELD_OUT, SERVED_RECIPE, train_with_extras
from .train import TrainConfig, available_device, train

PROBE_WARM_UP_STEPS, PROBE_STEPS = 20, 150
# Calibration, the model card and the epochs' test passes: seconds a candidate needs beyond its batches.
OVERHEAD_SECONDS = 90
# The first step's epochs when chosen by the deadline.
FIRST_EPOCHS_RANGE = (10, 40)


@dataclass(frozen=True)
class Candidate:
    architecture: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.architecture.removeprefix('mnist-cnn-')}-s{self.seed}"

    @classmethod
    def parse(cls, text: str) -> "Candidate":
        architecture, _, seed = text.partition(":")
        if architecture not in ARCHITECTURES or not seed.isdigit():
            raise argparse.ArgumentTypeError(
                f"a candidate is ARCHITECTURE:SEED, the architecture one of {', '.join(ARCHITECTURES)}; not {text!r}")
        return cls(architecture, int(seed))


@dataclass(frozen=True)
class SweepOptions:
    data_dir: Path
    cache_dir: Path
    fonts: tuple[Path, ...]
    out: Path
    device: str
    threads: int
    train_limit: int | None = None   # MNIST images of every step, for a short trial; None: the recipe's


def step_configs(candidate: Candidate, first_epochs: int, sweep: SweepOptions) -> list[TrainConfig]:
    base = TrainConfig(architecture=candidate.architecture, seed=candidate.seed,
                       batch_size=SERVED_RECIPE.batch_size, threads=sweep.threads, device=sweep.device)

    def limited(limit: int | None) -> int | None:
        return min(filter(None, (limit, sweep.train_limit)), default=None)

    first, *later = SERVED_RECIPE.steps
    return [replace(base, **{**asdict(step), "train_limit": limited(step.train_limit)})
            for step in (replace(first, epochs=first_epochs), *later)]


def steps_per_epoch(train_images: int, limit: int | None, fonts: int) -> int:
    """Batches in one epoch of the recipe: MNIST less the held-out slice (or `limit` of it), plus the extras
    and at most every character of the fonts at every size."""
    mnist = min(limit or train_images - HELD_OUT, train_images - HELD_OUT)
    letters = fonts * len(NOT_DIGIT_CHARACTERS) * len(TRAINING_SIZES)
    return -(-(mnist + SERVED_RECIPE.extras.count + letters) // SERVED_RECIPE.batch_size)


def probe(candidate: Candidate, sweep: SweepOptions) -> float:
    """Seconds one training batch takes for this candidate while the others train beside it."""
    train_split = load_split(sweep.data_dir, "train")
    batch_size = SERVED_RECIPE.batch_size
    test_head = load_split(sweep.data_dir, "test").head(batch_size)
    config = step_configs(candidate, 1, sweep)[0]
    # The first batches also start the device's runtime and choose its kernels: not timed.
    for steps in (PROBE_WARM_UP_STEPS, PROBE_STEPS):
        started = time.perf_counter()
        train(replace(config, train_limit=steps * batch_size), train_split, test_head, progress=False,
              log=lambda line: None)
    return (time.perf_counter() - started) / PROBE_STEPS


def run(candidate: Candidate, first_epochs: int, sweep: SweepOptions) -> list[str]:
    """Train the candidate's steps one after the other, each from the last; save each as it ends."""
    train_split = load_split(sweep.data_dir, "train")
    test_split = load_split(sweep.data_dir, "test")
    saved, state, previous = [], None, None
    extras = replace(SERVED_RECIPE.extras, fonts=sweep.fonts, cache_dir=sweep.cache_dir)
    for number, config in enumerate(step_configs(candidate, first_epochs, sweep), start=1):
        result = train_with_extras(config, train_split, test_split, extras, initial_state=state, progress=False,
                                   log=lambda line: print(f"{candidate.name} step {number}: {line}", flush=True))
        if previous is not None:
            result.metadata["fine_tuned_from"] = {"path": previous.name, "sha256": checkpoint.file_sha256(previous)}
        path = checkpoint.save(sweep.out / f"{candidate.name}-step{number}.pt", result.model, result.metadata)
        print(f"{candidate.name} step {number}: saved {path} (MNIST test answered right "
              f"{result.metadata['answered_test_accuracy']:.4f}, {result.metadata['training_seconds']:.0f} s)",
              flush=True)
        saved.append(str(path))
        state, previous = result.model.state_dict(), path
    return saved


def first_epochs_for(seconds_per_batch: float, deadline: float, train_images: int, fonts: int) -> int:
    """The longest first step whose candidate, all steps, ends before the deadline (seconds from now), on
    `train_images` MNIST training images and the letters of `fonts` fonts."""
    later = sum(step.epochs * steps_per_epoch(train_images, step.train_limit, fonts)
                for step in SERVED_RECIPE.steps[1:])
    affordable = (deadline - OVERHEAD_SECONDS) / seconds_per_batch - later
    epochs = int(affordable // steps_per_epoch(train_images, None, fonts))
    return max(FIRST_EPOCHS_RANGE[0], min(FIRST_EPOCHS_RANGE[1], epochs))


def first_epochs_option(text: str) -> int | str:
    if text == "auto":
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"the first step's epochs are a whole number from 1, or auto; not {text!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlcore.training.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="the MNIST directory")
    parser.add_argument("--cache-dir", type=Path, required=True,
                        help="the generated drawings, as `manage.py train` caches them (drawn here if missing)")
    parser.add_argument("--fonts", type=Path, required=True, help="the fonts whose letters are learnt as non-digits")
    parser.add_argument("--out", type=Path, required=True, help="where the checkpoints and sweep.json go")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of each candidate's process")
    parser.add_argument("--candidate", type=Candidate.parse, action="append", required=True,
                        metavar="ARCHITECTURE:SEED")
    parser.add_argument("--train-limit", type=int, default=None,
                        help="MNIST images of every step, for a short trial (default: the recipe's)")
    parser.add_argument("--first-epochs", type=first_epochs_option, default="auto",
                        help="the first step's epochs, or auto (default)")
    parser.add_argument("--deadline", type=float, default=420.0,
                        help="with --first-epochs auto: seconds from now by which every candidate should be done")
    options = parser.parse_args(argv)
    if not options.deadline > 0:
        parser.error(f"--deadline must be a positive number of seconds, not {options.deadline}")
    repeated = {f"{candidate.architecture}:{candidate.seed}" for candidate in options.candidate
                if options.candidate.count(candidate) > 1}
    if repeated:
        # Their processes would train the same model and write the same checkpoints.
        parser.error(f"--candidate {', '.join(sorted(repeated))} is given more than once")
    if options.train_limit is not None and options.train_limit < 1:
        parser.error(f"--train-limit must be at least 1, not {options.train_limit}")
    for name, directory in (("--cache-dir", options.cache_dir), ("--out", options.out)):
        if directory.exists() and not directory.is_dir():
            parser.error(f"{name} {directory} is a file, not a directory")
    # Everything a candidate's process would stop on is checked here, before any process starts.
    try:
        available_device(options.device)
        train_images = len(load_split(options.data_dir, "train").labels)
        load_split(options.data_dir, "test")
        fonts = tuple(font_files(options.fonts))
        sweep = SweepOptions(options.data_dir, options.cache_dir, fonts, options.out, options.device,
                            options.threads, options.train_limit)
        for candidate in options.candidate:
            step_configs(candidate, 1, sweep)
        for directory in (options.cache_dir, options.out):
            directory.mkdir(parents=True, exist_ok=True)
    except (ValueError, MnistDataError, OSError) as exc:
        parser.error(str(exc))
    started = time.perf_counter()
    # Spawned, not forked: an accelerator's runtime does not survive a fork.
    with multiprocessing.get_context("spawn").Pool(len(options.candidate)) as pool:
        if options.first_epochs == "auto":
            seconds_per_batch = max(pool.starmap(probe, [(c, sweep) for c in options.candidate]))
            first_epochs = first_epochs_for(seconds_per_batch, options.deadline - (time.perf_counter() - started),
                                            train_images, len(fonts))
            print(f"probe: {seconds_per_batch * 1000:.2f} ms a batch with {len(options.candidate)} candidates "
                  f"training at once; first step {first_epochs} epochs", flush=True)
        else:
            seconds_per_batch, first_epochs = None, options.first_epochs
        saved = pool.starmap(run, [(c, first_epochs, sweep) for c in options.candidate])
    summary = {"candidates": [c.name for c in options.candidate], "first_epochs": first_epochs,
               "probe_ms_per_batch": seconds_per_batch and seconds_per_batch * 1000,
               "seconds": round(time.perf_counter() - started, 1), "saved": saved}
    write_atomically(options.out / "sweep.json", (json.dumps(summary, indent=2) + "\n").encode())
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
