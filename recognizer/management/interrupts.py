"""Ctrl-C in a long command: a stop the engineer asked for, said in one line, not a crash to show a traceback of."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError


class InterruptibleCommand(BaseCommand):
    """A command that Ctrl-C stops with `interrupted: ` and what it leaves done and undone: `left`, which the
    command keeps true as its work goes, or `left_by_interrupt` where only the database can say."""

    left = "nothing was written"

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except KeyboardInterrupt:
            raise CommandError(f"interrupted: {self.left_by_interrupt()}") from None

    def left_by_interrupt(self) -> str:
        return self.left
