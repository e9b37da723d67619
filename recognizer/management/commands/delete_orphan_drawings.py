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
        if options["older_than"] < 0:
            raise CommandError("--older-than must be zero or more minutes")
        count = 0
        for path in orphan_drawings(options["older_than"] * 60):
            if options["dry_run"]:
                self.stdout.write(str(path))
            else:
                path.unlink(missing_ok=True)
            count += 1
        verb = "found" if options["dry_run"] else "deleted"
        self.stdout.write(self.style.SUCCESS(f"{verb} {count:,} orphan drawing file(s)"))
