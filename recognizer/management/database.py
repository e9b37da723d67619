"""Commands that read or write the database refuse clearly when it is not set up yet."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor


class DatabaseCommand(BaseCommand):
    """A command whose work needs every migration applied: on a fresh checkout, or an unreachable
    database, it says what to do instead of failing halfway with a database traceback."""

    def execute(self, *args, **options):
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            executor = MigrationExecutor(connection)
            unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            raise CommandError(f"cannot read the database ({connection.settings_dict['NAME']}): {exc}") from None
        if unapplied:
            raise CommandError(f"the database ({connection.settings_dict['NAME']}) is not set up: "
                               f"{len(unapplied)} migration(s) not applied; run `manage.py migrate` first "
                               "(`make setup` does)")
        return super().execute(*args, **options)
