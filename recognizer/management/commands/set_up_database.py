import contextlib

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connection

# The PostgreSQL advisory lock a server holds while it sets the database up.
SETUP_LOCK = 0x64696769


@contextlib.contextmanager
def setting_up_alone(say=print):
    """Held while this process migrates the database and registers the model: on PostgreSQL an advisory lock
    that servers starting at the same moment wait for (two migrations of a fresh database raced in two of four
    tries, and one server stopped); SQLite is one machine's. The lock goes with this process's session, so it
    is held for exactly as long as the work it guards."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SETUP_LOCK])
        if not cursor.fetchone()[0]:
            say("another server is setting the database up; waiting for it")
            cursor.execute("SELECT pg_advisory_lock(%s)", [SETUP_LOCK])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SETUP_LOCK])


class Command(BaseCommand):
    help = ("Migrate the database and register the shipped model on a fresh one (`migrate`, then "
            "`bootstrap_model`), one app server at a time: on PostgreSQL, servers started at once wait for "
            "each other. `set_up_server` runs it before a server serves.")

    def handle(self, *args, **options):
        try:
            with setting_up_alone(self.stdout.write):
                # They write to the terminal themselves: through this command's stdout, each of migrate's "OK"s
                # went on a line of its own.
                call_command("migrate", interactive=False, verbosity=options["verbosity"])
                call_command("bootstrap_model", verbosity=options["verbosity"])
        except OperationalError as exc:   # unreachable, or refused: a line, not a traceback
            raise CommandError(f"cannot set up the database ({connection.settings_dict['NAME']}): {exc}") from None
