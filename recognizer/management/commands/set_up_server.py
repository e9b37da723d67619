from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Everything an app server needs before it serves, in one start of Django: `set_up_database` (migrate "
            "and register the model, one server at a time), `collectstatic`, then `check --deploy`. "
            "`make production` and `make gunicorn` run it.")
    # check --deploy, last, runs every check: run before the command as well, they would run twice.
    requires_system_checks = []

    def handle(self, *args, **options):
        call_command("set_up_database", verbosity=options["verbosity"])
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("check", deploy=True)
