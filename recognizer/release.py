"""The release gate: a model version is served only once it has been compared with the active one on
the named evaluation sets (each one line of EVALUATION_SETS; the comparison itself is `mlcore.compare`),
and refused when worse beyond TOLERANCE unless forced."""

from __future__ import annotations

import contextlib
import functools
import getpass

from django.conf import settings
from django.utils import timezone

from mlcore.compare import Comparison, EvaluationSet, Tolerance, batched, compare
from mlcore.evaluate import drawn_set, non_digit_set, optdigits_set, styled_set
from mlcore.mnist import MnistDataError, Split, load_split
from mlcore.predict import Predictor
from mlcore.training.retraining import HOLDOUT_FRACTION, split_holdout

from .datasets import reviewed_dataset
from .models import ModelUnavailable, ModelVersion, Prediction

# The documented tolerance of the gate (README, "Commands"): worse than this on any set of 100 or more
# drawings, and a version is refused unless forced.
TOLERANCE = Tolerance()
# Drawing strokes is slow: the generated sets are a sample; RELEASE_GATE_LIMIT caps every set further.
GENERATED_COUNT = 1000
# The newest reviewed drawings the gate reads, a fifth of them held out: about 40 MB of inputs in the
# worker, where every drawing ever reviewed would grow without bound.
REVIEWED_COUNT = 50_000


def size(default: int | None) -> int | None:
    limit = settings.RELEASE_GATE_LIMIT
    return default if limit is None else min(limit, default or limit)


# The fixed sets are the same for every comparison: built once per process, data directory and size.
@functools.lru_cache(maxsize=4)
def mnist_test_split(data_dir: str, count: int | None) -> Split:
    return load_split(data_dir, "test").head(count)


def mnist_test() -> EvaluationSet:
    split = mnist_test_split(str(settings.MNIST_DATA_DIR), size(None))
    return EvaluationSet("MNIST test", split.images, split.labels)


# The sets generated from the MNIST test digits, by name.
FROM_MNIST_TEST = {"drawn": drawn_set, "non-digits": non_digit_set}


@functools.lru_cache(maxsize=8)
def generated_split(name: str, data_dir: str, count: int) -> Split:
    return FROM_MNIST_TEST[name](mnist_test_split(data_dir, None), count)


def generated(name: str) -> EvaluationSet:
    split = generated_split(name, str(settings.MNIST_DATA_DIR), size(GENERATED_COUNT))
    return EvaluationSet(name, split.images, split.labels)


styled_split = functools.lru_cache(maxsize=4)(styled_set)


def styled() -> EvaluationSet:
    split = styled_split(size(GENERATED_COUNT))
    return EvaluationSet("styled", split.images, split.labels)


@functools.lru_cache(maxsize=4)
def optdigits_split(path: str, count: int | None) -> Split:
    return optdigits_set(path).head(count)


def uci_writers() -> EvaluationSet | None:
    """The digits of the optdigits file RELEASE_GATE_OPTDIGITS names, if it names one."""
    path = settings.RELEASE_GATE_OPTDIGITS
    if path is None:
        return None
    try:
        split = optdigits_split(str(path), size(None))
    except ValueError as exc:
        raise ModelUnavailable(f"the release gate's RELEASE_GATE_OPTDIGITS: {exc}") from None
    return EvaluationSet("UCI writers", split.images, split.labels)


def reviewed_holdout(fraction: float = HOLDOUT_FRACTION) -> EvaluationSet:
    # The same hash-chosen hold-out that `train --with-reviewed --holdout-fraction` never trains on.
    newest = Prediction.objects.reviewed().order_by("-created_at", "-id").values("id")[:size(REVIEWED_COUNT)]
    _, held_out = split_holdout(reviewed_dataset(Prediction.objects.filter(id__in=newest))[0], fraction)
    return EvaluationSet("reviewed hold-out", held_out.images, held_out.labels)


def held_out_by_all(versions: tuple[ModelVersion, ...]) -> float:
    """The share of reviewed drawings that none of the versions trained on: a version trained with a
    smaller --holdout-fraction than the gate's trained on part of the gate's hold-out."""
    fractions = [version.metadata.get("reviewed_training", {}).get("holdout_fraction", HOLDOUT_FRACTION)
                 for version in versions]
    return min([HOLDOUT_FRACTION, *fractions])


EVALUATION_SETS = [mnist_test, functools.partial(generated, "drawn"), styled, uci_writers, reviewed_holdout,
                   functools.partial(generated, "non-digits")]


def evaluation_sets(*versions: ModelVersion) -> list[EvaluationSet]:
    """The gate's sets for comparing `versions`: of the reviewed drawings, those none of them trained on."""
    try:
        sets = [reviewed_holdout(held_out_by_all(versions)) if build is reviewed_holdout else build()
                for build in EVALUATION_SETS]
    except MnistDataError as exc:
        raise ModelUnavailable(f"the release gate needs the MNIST test set: {exc}") from None
    return [evaluation_set for evaluation_set in sets if evaluation_set is not None]


def compare_versions(a: ModelVersion, b: ModelVersion, sets: list[EvaluationSet] | None = None,
                     loaded: tuple[Predictor, Predictor] | None = None) -> Comparison:
    """a and b (their Predictors `loaded` already, or loaded now) on the same sets; `regressions` lists where
    b is worse than a beyond TOLERANCE."""
    sets = evaluation_sets(a, b) if sets is None else sets
    first, second = loaded or (a.load(), b.load())
    return compare((a.name, batched(first.answers)), (b.name, batched(second.answers)), sets, TOLERANCE)


class ReleaseRefused(Exception):
    """A version is worse than the active one beyond the gate's tolerance; `comparison` says where."""

    def __init__(self, message: str, comparison: Comparison):
        super().__init__(message)
        self.comparison = comparison


def activate(version: ModelVersion, *, force: bool = False, by: str | None = None) -> Comparison | None:
    """Serve `version` once it has passed the gate: compared with the active version, and refused with
    ReleaseRefused when worse beyond TOLERANCE, unless `force`, which records who forced it, when, and the
    comparison. ModelUnavailable when it cannot be loaded. Returns the comparison, or None when there was
    nothing to compare with: no other active version, or one that cannot be loaded (the site answers 503
    until another is served, and a gate that needed it refused them all)."""
    candidate = version.load()
    active = ModelVersion.objects.active()
    current = None
    if active is not None and active.pk != version.pk:
        with contextlib.suppress(ModelUnavailable):
            current = active.load()
    comparison = None
    if current is not None:
        comparison = compare_versions(active, version, loaded=(current, candidate))
        if comparison.regressions:
            if not force:
                raise ReleaseRefused(f"refusing to activate {version.name}: worse than {active.name} on "
                                     f"{'; '.join(comparison.regressions)}", comparison)
            version.forced_by = by or getpass.getuser()
            version.forced_at = timezone.now()
            version.forced_comparison = comparison.as_dict()
    version.make_active()
    return comparison


def unguarded(previous: ModelVersion | None, comparison: Comparison | None) -> str | None:
    """Why an activation ran no gate, when the version it replaced (`previous`) was there to compare with,
    but could not be loaded: said wherever one is activated."""
    if comparison is not None or previous is None:
        return None
    return (f"the release gate was not run: the active version {previous.name} cannot be loaded "
            f"({previous.unloadable()}), and there was nothing to compare with")


def activation_notes(version: ModelVersion, previous: ModelVersion | None,
                     comparison: Comparison | None) -> tuple[list[str], list[str]]:
    """What a command says of an activation that `activate` returned `comparison` for, `previous` the
    version it replaced: the comparison's table, and the warnings (no gate run, or forced past it)."""
    table = comparison_lines(comparison) if comparison is not None else []
    warnings = [reason for reason in [unguarded(previous, comparison)] if reason]
    if version.forced_at is not None and comparison is not None and comparison.regressions:
        warnings.append(f"forced past the release gate by {version.forced_by}: {'; '.join(comparison.regressions)}")
    return table, warnings


def comparison_lines(comparison: Comparison) -> list[str]:
    """The comparison as a plain-text table, for the commands."""
    a, b = comparison.a, comparison.b
    headers = [f"{measure} {name}" for measure in ("accuracy", "ECE/answers", "not-a-digit") for name in (a, b)]
    width = max(len(header) for header in headers) + 2
    lines = [f"{'set':<20}{'images':>8}" + "".join(f"{header:>{width}}" for header in headers)]
    for s in comparison.sets:
        figures = (s.a.accuracy, s.b.accuracy, s.a.ece, s.b.ece, s.a.not_a_digit_rate, s.b.not_a_digit_rate)
        # An empty set (no reviewed drawings yet) has no figures: "0.0000" read as nothing answered right.
        cells = [f"{figure:>{width}.4f}" if s.images else f"{'-':>{width}}" for figure in figures]
        lines.append(f"{s.name:<20}{s.images:>8,}" + "".join(cells))
    return lines
