from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mlcore.mnist import FILES, FIX_HINT, MnistDataError, fetch

from ..paths import check_directory_to_write


class Command(BaseCommand):
    help = ("Put the four verified MNIST files in the data directory, copied from a local directory (--from) "
            "or downloaded from the public mirrors; files already present and valid are kept.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source_dir", type=Path,
                            help="directory holding the MNIST IDX files (gzip-compressed or raw) to copy")
        parser.add_argument("--data-dir", type=Path, default=settings.MNIST_DATA_DIR,
                            help="where the files go (default: MNIST_DATA_DIR)")

    def handle(self, *args, **options):
        source_dir, data_dir = options["source_dir"], options["data_dir"]
        if source_dir is not None and not source_dir.is_dir():
            raise CommandError(f"--from {source_dir}: no such directory")
        check_directory_to_write(data_dir, "--data-dir")
        try:
            written = fetch(data_dir, source_dir, log=self.stdout.write)
        except MnistDataError as exc:
            if source_dir is None:
                raise CommandError(str(exc)) from None
            # Its advice is to run this command, the one that failed: what --from holds is what to mend.
            raise CommandError(f"{str(exc).removesuffix(FIX_HINT).rstrip()} --from {source_dir} must hold the four "
                               f"MNIST files as published (gzip-compressed or raw)") from None
        except OSError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(
            f"{data_dir}: all four MNIST files verified ({len(written)} written, {len(FILES) - len(written)} kept)"))
