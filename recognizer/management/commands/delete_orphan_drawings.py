import math

from django.core.management.base import CommandError

from ...orphans import orphan_drawings
from ..database import DatabaseCommand


class Command(DatabaseCommand):
    help = ("Delete drawing files that no prediction refers to, such as a worker killed between writing a "
            "drawing and committing its row leaves. Run it now and then (a daily cron job).")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=float, default=60, metavar="MINUTES",
                            help="leave files younger than this alone: their request may still be running "
                                 "(default: 60)")
        parser.add_argument("--dry-run", action="store_true", help="list the orphans without deleting them")

    def handle(self, *args, **options):
        if not 0 <= options["older_than"] < math.inf:
            # NaN too, which no file's age is older than: nothing was deleted, and nothing said why.
            raise CommandError(f"--older-than must be zero or more minutes, not {options['older_than']}")
        count = 0
        for path in orphan_drawings(options["older_than"] * 60):
            if options["dry_run"]:
                self.stdout.write(str(path))
            else:
                path.unlink(missing_ok=True)
            count += 1
        verb = "found" if options["dry_run"] else "deleted"
        self.stdout.write(self.style.SUCCESS(f"{verb} {count:,} orphan drawing file(s)"))
