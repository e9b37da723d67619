# The field is renamed in the code only: its column keeps its name, so that a server still running the code
# before the rename goes on counting while the servers are upgraded one at a time.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('recognizer', '0013_lease_page'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='ratewindow',
                    name='one_count_per_client_period',
                ),
                migrations.RenameField(
                    model_name='ratewindow',
                    old_name='period',
                    new_name='window_end',
                ),
                migrations.AlterField(
                    model_name='ratewindow',
                    name='window_end',
                    field=models.BigIntegerField(db_column='period', db_index=True,
                                                 help_text='When the window ends, in seconds since the epoch.'),
                ),
                migrations.AddConstraint(
                    model_name='ratewindow',
                    constraint=models.UniqueConstraint(fields=('ident', 'window_end'),
                                                       name='one_count_per_client_period'),
                ),
            ],
        ),
    ]
