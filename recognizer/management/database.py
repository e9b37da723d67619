"""Commands that read or write the database refuse clearly when it is not set up yet."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

MIGRATE = "run `manage.py migrate` first (`make setup` does)"


class DatabaseCommand(BaseCommand):
    """A command whose work needs every migration applied: on a fresh checkout, or an unreachable
    database, it says what to do instead of failing halfway with a database traceback."""

    def execute(self, *args, **options):
        connection = connections[DEFAULT_DB_ALIAS]
        name = connection.settings_dict["NAME"]
        # Connecting creates an SQLite file: a DATABASE_URL misspelt would leave an empty database behind.
        if connection.vendor == "sqlite" and not connection.is_in_memory_db() and not Path(name).exists():
            raise CommandError(f"no database at {Path(name).absolute()}; {MIGRATE}")
        try:
            executor = MigrationExecutor(connection)
            unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            raise CommandError(f"cannot read the database ({name}): {exc}") from None
        if unapplied:
            raise CommandError(f"the database ({name}) is not set up: {len(unapplied)} migration(s) not applied; "
                               f"{MIGRATE}")
        return super().execute(*args, **options)
