from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # Throttle counters live in the database cache, so `migrate` alone readies a fresh database.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
