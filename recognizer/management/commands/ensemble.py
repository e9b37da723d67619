from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from mlcore import checkpoint
from mlcore.mnist import MnistDataError, load_split
from mlcore.training.ensemble import architecture_of, assemble
from mlcore.training.recipe import held_out_sets, split_off

from ..database import DatabaseCommand
from ..interrupts import InterruptibleCommand
from ..paths import check_checkpoint_to_write, read_checkpoint


class Command(InterruptibleCommand, DatabaseCommand):
    help = ("Read two or more checkpoints of one architecture together, as one model: the mean of their logits, "
            "calibrated anew on the held-out sets (temperature and not-a-digit threshold). Save it as a checkpoint "
            "with its model card; serve it with `manage.py activate_model`.")

    left = "nothing was saved"

    def add_arguments(self, parser):
        parser.add_argument("members", nargs="+", type=Path, metavar="CHECKPOINT",
                            help="the members' checkpoints (.pt), trained apart, for instance from different seeds")
        parser.add_argument("--out", type=Path, required=True, help="the ensemble's checkpoint (.pt)")
        parser.add_argument("--data-dir", type=Path, default=settings.MNIST_DATA_DIR)

    def handle(self, *args, **options):
        out = options["out"]
        check_checkpoint_to_write(out, "--out")
        self.left = f"nothing was saved, and {out} is as it was"
        given = [path.resolve() for path in options["members"]]
        if len(given) < 2:
            raise CommandError(f"an ensemble needs at least two members, not {len(given)}")
        if len(set(given)) != len(given):
            raise CommandError("a checkpoint is given twice: an ensemble's members are different networks")
        if out.resolve() in given:
            raise CommandError(f"--out {out} is one of the members; choose another file")
        members = []
        for path in options["members"]:
            model, metadata = read_checkpoint(path, "a member")
            members.append((model, metadata, {"path": str(path), "sha256": checkpoint.file_sha256(path)}))
        # Refused before the held-out sets are drawn, which takes minutes where they are not cached.
        try:
            architecture_of([metadata for _, metadata, _ in members])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            _, held = split_off(load_split(options["data_dir"], "train"))
            test_split = load_split(options["data_dir"], "test")
        except MnistDataError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"calibrating {len(members)} networks read together on the held-out sets "
                          f"(cached in {settings.GENERATED_CACHE_DIR})")
        try:
            held_out = held_out_sets(held, settings.CALIBRATION_DRAWINGS, cache_dir=settings.GENERATED_CACHE_DIR)
            result = assemble(members, held_out, test_split)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            out = checkpoint.save(out, result.model, result.metadata)
        except OSError as exc:
            raise CommandError(f"could not save {out}: {exc}") from None
        calibration = result.metadata["calibration"]
        self.stdout.write(self.style.SUCCESS(
            f"{result.metadata['architecture']}: MNIST test accuracy {checkpoint.mnist_accuracy(result.metadata):.4f}, "
            f"temperature {calibration['temperature']:.3f}, not-a-digit threshold "
            f"{calibration['not_a_digit_threshold']:.3f} (held-out non-digits answered \"not a digit\": "
            f"{calibration['held_out_negatives_null']:.2%}); saved {out} and its model card {out.with_suffix('.json')}. "
            f"Serve it with `manage.py activate_model {out}`"))
